package search

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// indexDirPrefix names the temporary directories of search indexes.
const indexDirPrefix = "egovkit-procedures-index-"

// lockName is the file in an index directory that the living index holds
// an exclusive lock on. The operating system releases the lock when the
// process ends, however it ends, so a directory whose lock can be taken
// belongs to no living index.
const lockName = "lock"

// abandonedUnlocked is how old a directory without a lock file must be to
// be taken for abandoned: a younger one may be an index between creating
// its directory and locking it.
const abandonedUnlocked = time.Minute

// newIndexDir creates a fresh index directory in parent and locks it.
func newIndexDir(parent string) (string, *os.File, error) {
	dir, err := os.MkdirTemp(parent, indexDirPrefix)
	if err != nil {
		return "", nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	// A fresh file is locked at once where locks exist; where they do not,
	// the directory simply looks held to others and only Close removes it.
	_ = lockFile(f)
	return dir, f, nil
}

// removeAbandonedIndexes removes the index directories in parent that no
// living index holds: those of processes that were killed before they
// could remove their own. Failures are logged and leave the directory for
// a later start.
func removeAbandonedIndexes(parent string, log *zap.Logger) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), indexDirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if info, ierr := e.Info(); ierr != nil || time.Since(info.ModTime()) < abandonedUnlocked {
				continue
			}
		case err != nil:
			continue
		default:
			if lockFile(f) != nil { // held: a living index
				f.Close()
				continue
			}
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			log.Warn("cannot remove an abandoned search index", zap.String("dir", dir), zap.Error(rerr))
		} else {
			log.Info("removed the files of a search index its process left behind", zap.String("dir", dir))
		}
		if f != nil {
			f.Close()
		}
	}
}

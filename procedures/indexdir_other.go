//go:build !unix

package procedures

import (
	"errors"
	"os"
)

// lockFile cannot lock here: every directory looks held, so none is
// removed as abandoned.
func lockFile(*os.File) error { return errors.New("procedures: no file locks on this system") }

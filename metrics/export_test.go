package metrics

// SetAfterCommit lets tests pretend a committed flush failed.
func SetAfterCommit(f func() error) { afterCommit = f }

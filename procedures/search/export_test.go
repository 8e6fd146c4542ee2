package search

// SinceBuild exposes how many refreshes changed the index since it was
// built whole.
func SinceBuild(x *Index) int { return x.sinceBuild() }

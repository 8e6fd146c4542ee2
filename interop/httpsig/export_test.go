package httpsig

// resolverFor is shared with the external tests.
var ResolverFor = resolverFor

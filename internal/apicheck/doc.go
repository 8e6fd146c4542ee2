// Package apicheck finds exported identifiers of the module's public
// packages whose types mention an internal package.
//
// Code outside this module cannot import internal/ packages, so a public
// signature, field, alias or method that names an internal type is a type an
// importer can neither name nor read in go doc. [Leaks] walks the exported API
// with go/types: package-level functions, variables and constants, exported
// types (struct fields, interface methods, alias targets, type parameters) and
// the method sets of exported types, and reports every mention with its
// position. The package's test runs it over the whole module, so such a leak
// fails `go test ./...`.
//
// # Use
//
//	leaks, err := apicheck.Leaks(ctx, moduleDir)
//	for _, l := range leaks {
//		fmt.Println(l) // auth/codes.go:12:6: auth.OneTimeCodes: alias of internal/otp.Store
//	}
package apicheck

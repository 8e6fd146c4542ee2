// Package kek handles the key-encryption key of a service that embeds
// egovkit: the 32-byte secret under which the packages keep their signing
// keys encrypted in the database (auth.NewSigningKeys,
// declaration.NewSigningKeys, AES-256-GCM).
//
// It is not a building block: it is for the program that wires the
// packages together, which creates the key once, keeps it outside the
// database (a file readable by the service alone, a secret store, an
// environment variable), and checks at every start that it is the key the
// database was created with.
//
// # Wiring
//
//	key, err := kek.Parse(os.Getenv("AGENCY_KEK")) // base64 or hex
//	if err != nil {
//		return err // matches kek.ErrInvalid
//	}
//	db, err := sqldb.Open(ctx, dbURL, nil)
//	…
//	if err := kek.Check(ctx, db, key); err != nil {
//		return err // kek.ErrMismatch: the database was created under another key
//	}
//	signing, err := auth.NewSigningKeys(ctx, db, "auth/citizen", key, auth.WithLogger(log))
//
// A new key comes from [Generate] and is written down with [Encode]. Every
// instance of a service that shares one database must be given the same
// key; an instance that generates its own is refused by [Check].
//
// # Errors
//
// [ErrInvalid] (not a key: wrong length or encoding) matches
// errkind.Invalid; [ErrMismatch] (the stored keys were encrypted under
// another key) matches errkind.Unauthorized. They are the errors the
// packages' NewSigningKeys return for the same faults, so one errors.Is
// test serves both.
package kek

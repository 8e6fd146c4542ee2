-- The exchange log: an RFC 6962 Merkle tree over the canonical encoding of
-- each exchange's entry (metadata and digests only, never a payload).

-- The tree head, one row. Appends lock it (FOR UPDATE on PostgreSQL, the
-- write lock on SQLite), so instances sharing the database take turns and
-- the numbering stays gap-free.
CREATE TABLE exchangelog_head (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	origin     TEXT NOT NULL,   -- the log's name: the checkpoints' first line
	size       BIGINT NOT NULL, -- leaves in the tree
	root       BYTEA NOT NULL,  -- root hash of the tree of size leaves
	updated_at BIGINT NOT NULL  -- Unix microseconds
);

-- The leaves, numbered from 0. leaf is the entry's canonical encoding;
-- its hash, SHA-256(0x00 || leaf), is the tree's stored hash at level 0.
CREATE TABLE exchangelog_leaves (
	idx         BIGINT PRIMARY KEY,
	exchange_id TEXT NOT NULL UNIQUE,
	leaf        BYTEA NOT NULL
);

-- Leaf hash to index, filled behind the appends (by Maintain, or by a
-- lookup that misses): keyed by a hash, each row would otherwise cost an
-- append a page write of its own. indexed is how many leaves it covers.
CREATE TABLE exchangelog_leaf_hashes (
	leaf_hash BYTEA PRIMARY KEY,
	idx       BIGINT NOT NULL
);
CREATE TABLE exchangelog_leaf_hashes_state (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	indexed BIGINT NOT NULL
);

-- The tree's stored hashes, keyed by golang.org/x/mod/sumdb/tlog's stored
-- hash index: the leaf hashes and the roots of every complete subtree.
CREATE TABLE exchangelog_hashes (
	id   BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL
);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), one per
-- tree size signed.
CREATE TABLE exchangelog_checkpoints (
	size       BIGINT PRIMARY KEY,
	root       BYTEA NOT NULL,
	note       TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Note signing keys, the private key sealed with AES-256-GCM under the
-- caller's key-encryption key.
CREATE TABLE exchangelog_keys (
	name       TEXT PRIMARY KEY,
	verifier   TEXT NOT NULL,  -- the public note verifier key
	sealed     BYTEA NOT NULL, -- nonce || ciphertext of the note signer key
	created_at BIGINT NOT NULL
);

-- Entries of the protocol book are never changed or deleted.
CREATE TRIGGER declaration_book_no_update BEFORE UPDATE ON declaration_book
BEGIN
	SELECT RAISE(ABORT, 'the protocol book is append-only');
END;
CREATE TRIGGER declaration_book_no_delete BEFORE DELETE ON declaration_book
BEGIN
	SELECT RAISE(ABORT, 'the protocol book is append-only');
END;

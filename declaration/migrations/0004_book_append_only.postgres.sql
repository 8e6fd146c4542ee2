-- Entries of the protocol book are never changed or deleted.
CREATE FUNCTION declaration_book_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the protocol book is append-only';
END
$$;
CREATE TRIGGER declaration_book_no_change BEFORE UPDATE OR DELETE ON declaration_book
	FOR EACH ROW EXECUTE FUNCTION declaration_book_append_only();

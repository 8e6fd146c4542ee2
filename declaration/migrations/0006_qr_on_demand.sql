-- The QR code's signed summary is made when a PDF is drawn, not stored:
-- most documents go to a wallet or are checked by code, never printed.
ALTER TABLE declaration_documents DROP COLUMN qr_token;

// Verifies a consent receipt with jose, as anyone holding the published
// JWK Set would.
// Usage: node verify.mjs <input.json>   (NODE_PATH names node_modules)
// input: {"jwks": {...}, "token": "..."}; prints the payload as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_PATH || here, 'x.js'));
const jose = await import(require.resolve('jose'));

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { payload, protectedHeader } = await jose.compactVerify(input.token, jose.createLocalJWKSet(input.jwks));
if (protectedHeader.typ !== 'consent-receipt+jwt') throw new Error('unexpected typ ' + protectedHeader.typ);
process.stdout.write(new TextDecoder().decode(payload));

// Cross-checks egovkit's interop/httpsig with an independent
// implementation: npm http-message-signatures (RFC 9421) and
// structured-headers (RFC 8941), with Node's own crypto.
// Usage: node interop.mjs <input.json>   (NODE_PATH names node_modules)
// input:  {"mode": "verify", "request": {...}, "keys": {"<keyid>": {"pem": "...", "alg": "ed25519"}}}
//     or  {"mode": "sign", "request": {...}, "pem": "<PKCS#8 private key>", "alg": "...", "keyid": "...", "fields": [...]}
// request: {"method": "POST", "url": "https://...", "headers": {"name": "value"}, "body": "..."}
// prints: {"verified": true|false, "error": "...", "digest": true|false} or {"headers": {...}}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, createPublicKey, createPrivateKey } from 'node:crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_PATH || here, 'x.js'));
const { httpbis, createVerifier, createSigner } = require('http-message-signatures');
const sf = await import(require.resolve('structured-headers'));

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const req = input.request;

if (input.mode === 'sign') {
  const key = createSigner(createPrivateKey(input.pem), input.alg, input.keyid);
  const signed = await httpbis.signMessage({ key, name: 'node', fields: input.fields, params: ['created', 'keyid', 'alg'] }, req);
  console.log(JSON.stringify({ headers: signed.headers }));
} else {
  const out = {};
  try {
    out.verified = await httpbis.verifyMessage({
      tolerance: 30,
      maxAge: 300,
      requiredParams: ['created', 'keyid'],
      requiredFields: input.required || [],
      async keyLookup(params) {
        const k = input.keys[params.keyid];
        if (!k) return null;
        return { id: params.keyid, algs: [k.alg], verify: createVerifier(createPublicKey(k.pem), k.alg) };
      },
    }, req);
  } catch (e) {
    out.verified = false;
    out.error = String(e && e.message || e);
  }
  // RFC 9530: the body against its Content-Digest.
  const field = Object.entries(req.headers).find(([n]) => n.toLowerCase() === 'content-digest');
  if (field) {
    const dict = sf.parseDictionary(field[1]);
    const body = Buffer.from(req.body || '', 'utf8');
    out.digest = [['sha-256', 'sha256'], ['sha-512', 'sha512']].some(([name, h]) => {
      const m = dict.get(name);
      return m && Buffer.from(m[0]).equals(createHash(h).update(body).digest());
    });
  }
  console.log(JSON.stringify(out));
}

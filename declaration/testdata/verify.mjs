// Verifies what egovkit's declaration package issues with independent
// libraries: the signed document (JWS) with jose, and the SD-JWT VC with
// @sd-jwt/sd-jwt-vc, whole and as a presentation of a few claims, its
// status read from the issuer's status list.
// Usage: node verify.mjs <input.json>   (NODE_PATH names node_modules)
// input: {"jwks": {...}, "token": "...", "issuer": "...", "sd_jwt": "...", "present": ["protocol", ...]}
// prints: {"jws": {...payload}, "vc": {...claims}, "presented": {...claims}} or {"vc_error": "..."}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_PATH || here, 'x.js'));
const load = async (name) => import(require.resolve(name));

const jose = await load('jose');
const { SDJwtVcInstance } = await load('@sd-jwt/sd-jwt-vc');

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const keys = jose.createLocalJWKSet(input.jwks);
const out = {};

// The JWS, as any JOSE library would check it.
const { payload, protectedHeader } = await jose.compactVerify(input.token, keys);
if (protectedHeader.typ !== 'egovkit-declaration+jwt') throw new Error('unexpected typ ' + protectedHeader.typ);
out.jws = JSON.parse(new TextDecoder().decode(payload));

// The verifier the SD-JWT library calls for the credential and the status list.
const verifier = async (data, signature) => {
  const [h] = data.split('.');
  const token = data + '.' + signature;
  try {
    await jose.compactVerify(token, keys);
    return true;
  } catch {
    return false;
  }
};
const hasher = (data, alg) => {
  if (alg !== 'sha-256') throw new Error('unexpected hash ' + alg);
  return new Uint8Array(createHash('sha256').update(data).digest());
};
const saltGenerator = () => 'unused';
const sdjwt = new SDJwtVcInstance({ verifier, hasher, saltGenerator, hashAlg: 'sha-256' });

try {
  const res = await sdjwt.verify(input.sd_jwt);
  if (res.header.typ !== 'dc+sd-jwt') throw new Error('unexpected typ ' + res.header.typ);
  out.vc = res.payload;
  if (input.present) {
    const frame = Object.fromEntries(input.present.map((k) => [k, true]));
    const presentation = await sdjwt.present(input.sd_jwt, frame);
    out.presented = (await sdjwt.verify(presentation)).payload;
    out.presentation_disclosures = presentation.split('~').length - 2;
  }
} catch (e) {
  out.vc_error = String(e && e.message || e);
}
console.log(JSON.stringify(out));

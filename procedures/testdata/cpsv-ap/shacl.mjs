// Validates a JSON-LD file against the CPSV-AP 3.2.0 SHACL shapes and
// prints the report as JSON: {"conforms": bool, "results": [...]}.
// Usage: node shacl.mjs <data.jsonld>   (NODE_PATH names node_modules)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_PATH || here, 'x.js'));
const load = async (name) => import(require.resolve(name));

const { default: rdf } = await load('@zazuko/env');
const { default: SHACLValidator } = await load('rdf-validate-shacl');
const jsonld = (await load('jsonld')).default;
const { Parser } = await load('n3');

const CONTEXT = 'https://semiceu.github.io/CPSV-AP/releases/3.2.0/context/cpsv-ap.jsonld';
const localContext = JSON.parse(readFileSync(path.join(here, 'cpsv-ap.jsonld'), 'utf8'));

function toDataset(text, format) {
  const ds = rdf.dataset();
  for (const q of new Parser({ format }).parse(text)) ds.add(q);
  return ds;
}

const shapes = toDataset(readFileSync(path.join(here, 'cpsv-ap-SHACL.ttl'), 'utf8'), 'text/turtle');
const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const nquads = await jsonld.toRDF(doc, {
  format: 'application/n-quads',
  documentLoader: async (url) => {
    // Both addresses the context is published at.
    if (url === CONTEXT || url.endsWith('/CPSV-AP/releases/3.2.0/context/cpsv-ap.jsonld')) {
      return { contextUrl: null, documentUrl: url, document: localContext };
    }
    throw new Error('no network: ' + url);
  },
});
const data = toDataset(nquads, 'N-Quads');
const report = await new SHACLValidator(shapes, { factory: rdf }).validate(data);
const results = report.results.map((r) => ({
  focus: r.focusNode?.value, path: r.path?.value, message: r.message.map((m) => m.value),
  component: r.sourceConstraintComponent?.value, shape: r.sourceShape?.value,
}));
process.stdout.write(JSON.stringify({ conforms: report.conforms, triples: data.size, results }));

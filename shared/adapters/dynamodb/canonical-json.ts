/** Canonical JSON lives in the domain (digests and the audit chain share it). */
export { canonicalJson, toPlainJson } from '../../domain/canonical-json.ts';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, `undefined` dropped as
 * JSON.stringify drops it. Hashes are computed over this form, so the same event hashes the same in
 * every process and after a round trip through DynamoDB.
 */

function canonical(value: unknown): string | undefined {
  let v = value;
  // Honour toJSON (Date and friends) exactly as JSON.stringify does.
  if (v !== null && typeof v === 'object' && 'toJSON' in v && typeof v.toJSON === 'function') {
    v = (v.toJSON as () => unknown).call(v);
  }
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (typeof v === 'bigint') throw new TypeError('canonical JSON cannot represent a bigint');
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((item: unknown) => canonical(item) ?? 'null').join(',')}]`;
  const record = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const encoded = canonical(record[key]);
    if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
  }
  return `{${parts.join(',')}}`;
}

/** Serializes a JSON-like value with sorted keys; throws for values JSON cannot represent at the top level. */
export function canonicalJson(value: unknown): string {
  const encoded = canonical(value);
  if (encoded === undefined) throw new TypeError('canonical JSON of undefined');
  return encoded;
}

/** The plain-JSON form of a value (Dates become strings, undefined disappears), as it will be stored and hashed. */
export function toPlainJson<T>(value: T): T {
  return JSON.parse(canonicalJson(value)) as T;
}

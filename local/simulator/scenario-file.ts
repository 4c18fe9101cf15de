/**
 * Parameter files in YAML: read one, follow its `extends:` chain (a path relative to the file;
 * objects deep-merged, lists and scalars replaced), validate the result with a zod schema, and turn
 * every problem into an InvalidInputError a person can act on: the file that holds the value, the
 * field path, the value and what was expected (`scenarios/x.yaml: progression.baseHazard.unaware:
 * expected a number >= 0, got -1`), or a YAML syntax error with its line and column.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type * as z from 'zod';
import { InvalidInputError } from '../../shared/domain/errors.ts';

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` laid onto `base`: objects merge key by key, anything else (lists included) replaces. Neither input is changed. */
export const deepMerge = (base: unknown, over: unknown): unknown => {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
};

/** A path as the person wrote it: relative to the working directory when it lies below it. */
const display = (file: string): string => {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
};

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing (the field is missing)';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

const at = (data: unknown, path: readonly PropertyKey[]): unknown => {
  let cur = data;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
};

const joinPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s === '' ? String(k) : `${s}.${String(k)}`), '') || '(root)';

/** The keys an object schema allows at `path` (for "unknown key" messages), or undefined when it cannot tell. */
const allowedKeys = (schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined => {
  let cur: unknown = schema;
  const def = (s: unknown): Record<string, unknown> | undefined =>
    (s as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
  const unwrap = (s: unknown): unknown => {
    for (let d = def(s); d !== undefined && ['default', 'optional', 'nullable', 'readonly', 'pipe'].includes(String(d.type)); d = def(s)) {
      s = d.type === 'pipe' ? d.in : d.innerType;
    }
    return s;
  };
  for (const k of path) {
    const d = def(unwrap(cur));
    if (d === undefined) return undefined;
    if (d.type === 'object') cur = (d.shape as Record<string, unknown>)[String(k)];
    else if (d.type === 'record') cur = d.valueType;
    else if (d.type === 'array') cur = d.element;
    else if (d.type === 'tuple') cur = (d.items as unknown[])[Number(k)];
    else return undefined;
  }
  const d = def(unwrap(cur));
  if (d?.type === 'object') return Object.keys(d.shape as Record<string, unknown>);
  if (d?.type === 'record') {
    const key = def(d.keyType);
    if (key?.type === 'enum') return Object.values(key.entries as Record<string, string>);
  }
  return undefined;
};

const article = (expected: string): string =>
  ({ int: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', object: 'a mapping', record: 'a mapping', array: 'a list', tuple: 'a list' })[
    expected
  ] ?? expected;

/** One zod issue as `path: expected ..., got ...` (several for unknown keys). */
const explain = (issue: z.core.$ZodIssue, data: unknown, schema: z.ZodType): Array<{ path: readonly PropertyKey[]; message: string }> => {
  const value = at(data, issue.path);
  const got = `got ${show(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, issue.path);
      const hint = allowed === undefined ? '' : ` (expected one of: ${allowed.join(', ')})`;
      return issue.keys.map((k) => ({ path: [...issue.path, k], message: `unknown key${hint}` }));
    }
    case 'invalid_type':
      return [{ path: issue.path, message: `expected ${article(issue.expected)}, ${got}` }];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const what =
        issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint'
          ? `a number ${op} ${String(bound)}`
          : issue.origin === 'array' || issue.origin === 'set'
            ? `a list of ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}`
            : `a ${issue.origin} of length ${op} ${String(bound)}`;
      return [{ path: issue.path, message: `expected ${what}, ${got}` }];
    }
    case 'invalid_value':
      return [{ path: issue.path, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, ${got}` }];
    case 'invalid_key':
      return [{ path: issue.path, message: `unknown key` }];
    default:
      return [{ path: issue.path, message: `${issue.message.startsWith('expected') ? issue.message : issue.message.toLowerCase()}, ${got}` }];
  }
};

/** One file of an `extends:` chain, with what it sets itself. */
interface Layer {
  readonly file: string;
  readonly own: Plain;
}

const readLayers = (file: string, chain: readonly string[]): Layer[] => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = cause instanceof Error && 'code' in cause ? String(cause.code) : 'unreadable';
    throw new InvalidInputError(`${display(file)}: cannot read the file (${code})`, { cause });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const [error] = doc.errors;
  if (error !== undefined) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new InvalidInputError(`${display(file)}:${line}:${col}: YAML syntax error: ${error.message.split('\n')[0]}`, { cause: error });
  }
  const data: unknown = doc.toJS();
  if (!isPlain(data)) throw new InvalidInputError(`${display(file)}: expected a mapping of parameters at the top level, got ${show(data)}`);
  const { extends: parent, ...own } = data;
  if (parent === undefined) return [{ file, own }];
  if (typeof parent !== 'string' || parent === '') {
    throw new InvalidInputError(`${display(file)}: extends: expected the path of another file (relative to this one), got ${show(parent)}`);
  }
  const target = resolve(dirname(file), parent);
  if (target === file || chain.includes(target)) {
    throw new InvalidInputError(`${display(file)}: extends: ${parent} makes a cycle (${[...chain, file, target].map(display).join(' -> ')})`);
  }
  if (!existsSync(target)) {
    throw new InvalidInputError(`${display(file)}: extends: cannot find ${JSON.stringify(parent)} (looked for ${display(target)})`);
  }
  return [...readLayers(target, [...chain, file]), { file, own }];
};

/**
 * Reads a YAML file and the files it extends, merges them and validates the result with `schema`.
 * Each problem names the file that set the value (the one that extends, when nobody did), the
 * field path, the value and what was expected.
 */
export const loadYamlFile = <S extends z.ZodType>(path: string, schema: S): z.infer<S> => {
  const layers = readLayers(resolve(path), []);
  const merged = layers.reduce<unknown>((acc, l) => deepMerge(acc, l.own), {});
  const r = schema.safeParse(merged);
  if (r.success) return r.data;
  const fileOf = (p: readonly PropertyKey[]): string => {
    for (let i = layers.length - 1; i >= 0; i -= 1) {
      const layer = layers[i];
      if (layer !== undefined && at(layer.own, p) !== undefined) return layer.file;
    }
    return layers[layers.length - 1]?.file ?? path;
  };
  const problems = r.error.issues.flatMap((i) => explain(i, merged, schema));
  const byFile = new Map<string, string[]>();
  for (const p of problems) {
    const f = display(fileOf(p.path));
    byFile.set(f, [...(byFile.get(f) ?? []), `${joinPath(p.path)}: ${p.message}`]);
  }
  throw new InvalidInputError(
    [...byFile].map(([f, msgs]) => `${f}: ${msgs.join('; ')}`).join('\n'),
    { cause: r.error },
  );
};

/**
 * `amk grants`: what each function of a template may touch, as deployed: its environment variables
 * and its IAM statements (actions on resources), read from a cloud assembly or an in-process
 * synth. The same resolution the embedded default checks every SDK call against.
 */
import { join } from 'node:path';
import { synthesizeTemplate } from '../../cdk/synth.ts';
import { resolveIntrinsics, resolveTemplate, type ResolveHooks } from '../engine/template.ts';
import { statementsOf } from '../engine/iam.ts';
import { readAssemblyTemplate } from '../runtime.ts';
import { TABLE_METADATA } from '../../cdk/constructs/data-tables.ts';

/** One function's grants. */
export interface FunctionGrants {
  readonly function: string;
  readonly environment: Record<string, string>;
  readonly statements: Array<{ effect: string; actions: string[]; resources: string[] }>;
}

/** The grants of every function, by step name; table names shown by their key (`<accounts>`). */
export function grantsOf(template: unknown): FunctionGrants[] {
  const resolved = resolveTemplate(template);
  const hooks: ResolveHooks = {
    tableName: (id, res) => `<${String(res.Metadata?.[TABLE_METADATA] ?? id)}>`,
    functionUrl: (id) => `<function URL of ${id}>`,
  };
  return [...resolved.functions.values()]
    .map((fn) => ({
      function: fn.name,
      environment: Object.fromEntries(Object.entries(fn.environment).map(([k, v]) => [k, String(resolveIntrinsics(v, resolved.resources, hooks))])),
      statements: statementsOf(resolved, fn, hooks).map((st) => ({ effect: st.effect, actions: [...st.actions], resources: [...st.resources] })),
    }))
    .sort((a, b) => a.function.localeCompare(b.function));
}

/** Reads the template of an assembly, or synthesizes one from a config folder. */
export function templateFor(opts: { assembly?: string; configDir: string; outdir: string }): unknown {
  if (opts.assembly !== undefined) return readAssemblyTemplate(opts.assembly);
  return synthesizeTemplate({ outdir: join(opts.outdir, 'cdk.out-grants'), configDir: opts.configDir, bundling: false, context: { sender: 'agents@example.com' } }).template;
}

/** The grants as text: one block per function. */
export function renderGrants(grants: readonly FunctionGrants[]): string {
  const lines: string[] = [];
  const short = (arn: string) => arn.replace(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d*:/, '');
  for (const g of grants) {
    lines.push(`${g.function}`);
    lines.push(`  env   ${Object.keys(g.environment).sort().join(', ')}`);
    for (const st of g.statements) lines.push(`  ${st.effect === 'Allow' ? 'allow' : 'DENY '} ${st.actions.join(', ')} on ${st.resources.map(short).join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Reading a synthesized template the way the tests need it: state machine definitions as plain
 * ASL (Fn::Join resolved, ARNs named after logical ids, as the local runtime does), every state by
 * name, and the IAM statements attached to a role.
 */

/** A CloudFormation template, loosely typed. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}
/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
/** An ASL state, loosely typed. */
export type AslState = Record<string, unknown> & { readonly Type: string };
/** An ASL definition (or a Map's ItemProcessor). */
export interface Asl {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
}
/** An IAM policy statement. */
export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves intrinsics to concrete strings: GetAtt X.Arn -> a Lambda ARN named X, Ref X -> `<X>`. */
export function resolveIntrinsics(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isRecord(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as unknown[]).map(resolveIntrinsics).join(String(join[0]));
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `arn:aws:lambda:eu-west-1:123456789012:function:${String(getAtt[0])}`;
    if (typeof value.Ref === 'string') {
      if (value.Ref === 'AWS::Partition') return 'aws';
      if (value.Ref === 'AWS::Region') return 'eu-west-1';
      if (value.Ref === 'AWS::AccountId') return '123456789012';
      return `<${value.Ref}>`;
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The ASL of a state machine resource. */
export function definitionOf(template: CfnTemplate, logicalId: string): Asl {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine`);
  return JSON.parse(resolveIntrinsics(resource.Properties?.DefinitionString)) as Asl;
}

/** Every state of a definition, including those inside Map item processors and Parallel branches, by name. */
export function allStates(asl: Asl): Map<string, AslState> {
  const out = new Map<string, AslState>();
  const visit = (a: Asl) => {
    for (const [name, state] of Object.entries(a.States)) {
      if (out.has(name)) throw new Error(`state name ${name} appears twice`);
      out.set(name, state);
      const processor = state.ItemProcessor ?? state.Iterator;
      if (isRecord(processor)) visit(processor as unknown as Asl);
      for (const branch of Array.isArray(state.Branches) ? state.Branches : []) if (isRecord(branch)) visit(branch as unknown as Asl);
    }
  };
  visit(asl);
  return out;
}

/** One state by name (throws when absent, so a test fails for the right reason). */
export function stateOf(states: Map<string, AslState>, name: string): AslState {
  const state = states.get(name);
  if (!state) throw new Error(`no state named ${name}; states: ${[...states.keys()].join(', ')}`);
  return state;
}

/** Logical ids of the resources of one type. */
export function idsOfType(template: CfnTemplate, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
}

/** A list, whatever IAM allowed (one value or many). */
export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every Allow statement of every policy attached to a role (AWS::IAM::Policy and inline policies). */
export function statementsOfRole(template: CfnTemplate, roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = asList(resource.Properties?.Roles as unknown) as unknown[];
    if (!roles.some((r) => isRecord(r) && r.Ref === roleId)) continue;
    out.push(...statementsOf(resource.Properties?.PolicyDocument));
  }
  const role = template.Resources[roleId];
  for (const inline of (role?.Properties?.Policies as unknown[] | undefined) ?? []) {
    if (isRecord(inline)) out.push(...statementsOf(inline.PolicyDocument));
  }
  return out;
}

/** The statements of a policy document. */
export function statementsOf(document: unknown): Statement[] {
  if (!isRecord(document)) return [];
  return asList(document.Statement as Statement | Statement[]);
}

/** Logical ids referenced anywhere inside a value (Ref and Fn::GetAtt). */
export function referencedIds(value: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isRecord(v)) {
      if (typeof v.Ref === 'string' && !v.Ref.startsWith('AWS::')) out.add(v.Ref);
      const getAtt = v['Fn::GetAtt'];
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') out.add(getAtt[0]);
      const sub = v['Fn::Sub'];
      if (typeof sub === 'string') for (const m of sub.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) if (m[1]) out.add(m[1]);
      Object.values(v).forEach(visit);
    }
  };
  visit(value);
  return out;
}

/** A dependency cycle among the template's resources, or undefined when there is none. */
export function findCycle(template: CfnTemplate): string[] | undefined {
  const edges = new Map<string, Set<string>>();
  for (const [id, r] of Object.entries(template.Resources)) {
    const deps = referencedIds(r.Properties);
    for (const d of asList(r.DependsOn ?? [])) deps.add(d);
    edges.set(id, new Set([...deps].filter((d) => d in template.Resources)));
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const d of edges.get(id) ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

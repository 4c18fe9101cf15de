/**
 * Finding ids of cdk-nag 3 for wildcard resources, computed from the same token the grant used, so
 * an acknowledgement names exactly one finding (cdk-nag 3 has no prefix matching) and keeps
 * matching when logical ids change.
 */
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The id of cdk-nag's `AwsSolutions-IAM5` finding for a resource string (token or literal). */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

// Mirrors cdk-nag's flattenCfnReference (lib/utils/flatten-cfn-reference.js), which renders the
// resources of a finding id; that module is not part of cdk-nag's public API.
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (isRecord(node)) {
    const join = node['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flatten).join(join[0]);
    }
    if (node['Fn::Sub'] !== undefined) return flatten(node['Fn::Sub']);
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if (node['Fn::ImportValue'] !== undefined) return flatten(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flatten(node.Ref)}>`;
  }
  return JSON.stringify(node);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

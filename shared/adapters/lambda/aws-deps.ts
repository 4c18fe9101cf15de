/**
 * The application's ports in AWS, built once per process from the environment (parsed with zod)
 * and AWS clients created once. A function only gets the tables its CDK grant gave it: using a
 * port whose table variable is missing fails naming the variable.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { InvalidConfigError, ToolRejectedError } from '../../domain/errors.ts';
import type { Action, Stakeholder } from '../../domain/model.ts';
import type { Mailer, ToolGateway, ToolResult } from '../../ports/index.ts';
import { StaticConfigSource } from '../config-source.ts';
import { createDynamoClient } from '../dynamodb/client.ts';
import { DynamoAccountRepository } from '../dynamodb/account-repository.ts';
import { DynamoMemoryRepository } from '../dynamodb/memory-repository.ts';
import { DynamoApprovalRepository } from '../dynamodb/approval-repository.ts';
import { DynamoAuditLog } from '../dynamodb/audit-log.ts';
import { DynamoRunRepository } from '../dynamodb/run-repository.ts';
import { createIdempotentRunner } from '../idempotency.ts';
import { SesMailer } from '../ses-mailer.ts';
import { SfnTaskCallback } from '../sfn-callback.ts';
import { loadSigningKey } from '../../../functions/approval-http/deps.ts';

/** Environment of the workflow functions; tables are optional (each function gets its own). */
export const StepEnv = z.object({
  ACCOUNTS_TABLE: z.string().min(1).optional(),
  MEMORY_TABLE: z.string().min(1).optional(),
  APPROVALS_TABLE: z.string().min(1).optional(),
  AUDIT_TABLE: z.string().min(1).optional(),
  RUNS_TABLE: z.string().min(1).optional(),
  IDEMPOTENCY_TABLE: z.string().min(1).optional(),
  CAMPAIGNS_FILE: z.string().min(1).optional(),
  SIGNING_KEY_SECRET_ARN: z.string().min(1).optional(),
  APPROVAL_BASE_URL: z.string().optional(),
  MAIL_FROM: z.string().default('amk@example.com'),
  PLANNER_SEED: z.string().default('amk'),
});
export type StepEnv = z.infer<typeof StepEnv>;

/** A port whose table this function was not given: fails on use, naming the variable. */
function missing<T extends object>(variable: string): T {
  return new Proxy({} as T, {
    get: (_, prop) => {
      if (prop === 'then') return undefined; // not a thenable
      return () => {
        throw new InvalidConfigError('environment', [{ path: variable, message: 'is not set for this function (no grant on that table)' }]);
      };
    },
  });
}

/**
 * Email is the one connector wired in AWS so far: it sends through SES. Other tools are refused
 * (ToolRejectedError) until their connectors exist, so nothing pretends to have acted.
 */
export class SesEmailToolGateway implements ToolGateway {
  constructor(
    private readonly mailer: Mailer,
    private readonly from: string,
  ) {}
  async execute(action: Action, stakeholders: Stakeholder[]): Promise<ToolResult> {
    if (action.tool !== 'email') throw new ToolRejectedError(`No connector for tool "${action.tool}" is deployed yet`);
    const to = stakeholders.map((s) => s.email);
    if (to.length === 0) throw new ToolRejectedError(`Action ${action.id} has no reachable stakeholder`);
    const subject = action.content.subject ?? action.content.topic;
    const { messageId } = await this.mailer.send({ to, from: this.from, subject, text: action.content.topic, html: `<p>${action.content.topic.replace(/[<>&"]/g, '')}</p>` });
    return { ok: true, externalId: messageId };
  }
}

/** Builds the ports from an environment (pure of process state; tests pass their own env). */
export async function buildAwsDeps(envIn: Readonly<Record<string, string | undefined>>): Promise<AppDeps> {
  const parsed = StepEnv.safeParse(envIn);
  if (!parsed.success) throw new InvalidConfigError('environment', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  const env = parsed.data;
  const dynamo = createDynamoClient();
  const mailer = new SesMailer(new SESv2Client({}));
  const table = <T extends object>(name: string | undefined, variable: string, make: (t: string) => T): T => (name ? make(name) : missing<T>(variable));
  return {
    config: env.CAMPAIGNS_FILE ? StaticConfigSource.fromJsonFile(env.CAMPAIGNS_FILE) : missing('CAMPAIGNS_FILE'),
    accounts: table(env.ACCOUNTS_TABLE, 'ACCOUNTS_TABLE', (t) => new DynamoAccountRepository(dynamo, t)),
    memory: table(env.MEMORY_TABLE, 'MEMORY_TABLE', (t) => new DynamoMemoryRepository(dynamo, t)),
    approvals: table(env.APPROVALS_TABLE, 'APPROVALS_TABLE', (t) => new DynamoApprovalRepository(dynamo, t)),
    audit: table(env.AUDIT_TABLE, 'AUDIT_TABLE', (t) => new DynamoAuditLog(dynamo, t)),
    runs: table(env.RUNS_TABLE, 'RUNS_TABLE', (t) => new DynamoRunRepository(dynamo, t)),
    idempotent: env.IDEMPOTENCY_TABLE
      ? createIdempotentRunner({ client: dynamo, table: env.IDEMPOTENCY_TABLE })
      : async () => {
          throw new InvalidConfigError('environment', [{ path: 'IDEMPOTENCY_TABLE', message: 'is not set for this function (no grant on that table)' }]);
        },
    tools: new SesEmailToolGateway(mailer, env.MAIL_FROM),
    mailer,
    callback: new SfnTaskCallback(new SFNClient({})),
    clock: () => new Date().toISOString(),
    seed: env.PLANNER_SEED,
    signingKey: env.SIGNING_KEY_SECRET_ARN ? await loadSigningKey(new SecretsManagerClient({}), env.SIGNING_KEY_SECRET_ARN) : Buffer.alloc(0),
    approvalBaseUrl: (env.APPROVAL_BASE_URL ?? '').replace(/\/+$/, ''),
    mailFrom: env.MAIL_FROM,
    allowSimulatedReviewer: false,
  };
}

let cached: Promise<AppDeps> | undefined;

/** The process's ports, built on first use from process.env (a failed build is retried next time). */
export function awsDeps(): Promise<AppDeps> {
  cached ??= buildAwsDeps(process.env).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

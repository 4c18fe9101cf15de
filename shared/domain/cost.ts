/**
 * The cost model: what a campaign run costs on AWS, from counted usage and list prices. Pure: the
 * usage is measured elsewhere (the local engine counts transitions and durations, the DynamoDB
 * client meters consumed capacity) and the prices come from config/prices.yaml.
 *
 * Two figures are estimates, not measurements, and say so here:
 * - State-machine log bytes: AWS's log events are not produced locally, so they are derived from
 *   the states visited and the payloads they carried (see estimateStateMachineLogBytes).
 * - Lambda duration: measured in-process, where the handler awaits dynalite on 127.0.0.1 instead
 *   of DynamoDB over the network; a fair proxy for I/O-bound handlers, not a benchmark of Lambda.
 * Free tiers, storage (DynamoDB GB-month, log retention), X-Ray traces and data transfer are left
 * out: they do not scale with a run (or are sampled), and the first would hide the marginal cost.
 */
import * as z from 'zod';

/** One list price: `usd` for `per` units, with where and when it was read. */
export const Price = z.object({
  usd: z.number().nonnegative(),
  per: z.number().positive(),
  unit: z.string().min(1),
  /** Page the price was read from. */
  source: z.url(),
  /** The text of the page the figure comes from. */
  quote: z.string().min(1),
  /** The day the price was read (YYYY-MM-DD). */
  checked: z.iso.date(),
});
export type Price = z.infer<typeof Price>;

/** The list prices the model needs (us-east-1, USD, on-demand, no free tier). */
export const Prices = z
  .object({
    region: z.literal('us-east-1'),
    currency: z.literal('USD'),
    prices: z
      .object({
        stepFunctionsStandardTransition: Price,
        stepFunctionsExpressRequest: Price,
        stepFunctionsExpressGbSecond: Price,
        lambdaRequest: Price,
        lambdaArmGbSecond: Price,
        lambdaX86GbSecond: Price,
        dynamodbWriteRequestUnit: Price,
        dynamodbReadRequestUnit: Price,
        cloudwatchLogsIngestedGb: Price,
        sesEmail: Price,
        schedulerInvocation: Price,
      })
      .strict(),
  })
  .strict();
export type Prices = z.infer<typeof Prices>;

/** Price of one unit (a transition, a request, a GB-second, ...). */
export const unitPrice = (p: Price): number => p.usd / p.per;

/** Billing's gigabyte (AWS bills GB as 2^30 bytes and GB-seconds of MB/1024). */
export const GIB = 1024 ** 3;

/** Express memory is billed in chunks of 64 MB (the minimum). */
export const EXPRESS_MEMORY_CHUNK_MB = 64;

/** Lambda's own lines per invocation (START, END, REPORT with the X-Ray trace id): about 400 bytes. */
export const LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION = 400;

/**
 * Bytes of one Step Functions log event without execution data: id, type, timestamps,
 * previous_event_id, redrive_count, the execution ARN (~150 characters for an Express child) and
 * the `details` wrapper. An estimate from the documented event shape.
 */
export const STATE_LOG_EVENT_ENVELOPE_BYTES = 350;

/** What a state machine logged, as counted by the engine, for the log estimate. */
export const StateMachineActivity = z.object({
  level: z.enum(['ALL', 'ERROR', 'FATAL', 'OFF']),
  includeExecutionData: z.boolean(),
  executions: z.number().nonnegative(),
  transitions: z.number().nonnegative(),
  taskTransitions: z.number().nonnegative(),
  mapIterations: z.number().nonnegative(),
  /** Execution data of states entered and exited and of executions started and ended, in bytes. */
  payloadBytes: z.number().nonnegative(),
  /** The part of payloadBytes that belongs to Task states. */
  taskPayloadBytes: z.number().nonnegative(),
});
export type StateMachineActivity = z.infer<typeof StateMachineActivity>;

/**
 * Estimated bytes a state machine's execution logging sends to CloudWatch Logs on the success
 * path. At level ALL, AWS logs: ExecutionStarted/Succeeded per execution; StateEntered/Exited per
 * state visited; for a Task also TaskScheduled, TaskStarted and TaskSucceeded; MapIteration
 * Started/Succeeded per iteration. Each event is an envelope (STATE_LOG_EVENT_ENVELOPE_BYTES) plus,
 * with includeExecutionData, its payload: a state's input when entered, its output when exited,
 * and for a Task the parameters sent (~ its input) and the result received (~ its output), so
 * Task payloads are counted twice. ERROR and FATAL log only failures: 0 here.
 */
export function estimateStateMachineLogBytes(a: StateMachineActivity): number {
  if (a.level !== 'ALL') return 0;
  const events = 2 * a.executions + 2 * a.transitions + 3 * a.taskTransitions + 2 * a.mapIterations;
  const data = a.includeExecutionData ? a.payloadBytes + a.taskPayloadBytes : 0;
  return events * STATE_LOG_EVENT_ENVELOPE_BYTES + data;
}

/** Billed Express memory for a definition and its largest payload: 64 MB chunks, one at least. */
export function expressBilledMemoryMb(definitionBytes: number, maxPayloadBytes: number): number {
  const mb = (definitionBytes + maxPayloadBytes) / (1024 * 1024);
  return EXPRESS_MEMORY_CHUNK_MB * Math.max(1, Math.ceil(mb / EXPRESS_MEMORY_CHUNK_MB));
}

/** Usage of one Lambda function. */
export const LambdaFunctionUsage = z.object({
  name: z.string().min(1),
  invocations: z.number().int().nonnegative(),
  /** Sum of each invocation's duration rounded up to 1 ms. */
  billedMs: z.number().nonnegative(),
  memoryMb: z.number().int().min(128).max(10240),
  architecture: z.enum(['arm64', 'x86_64']),
});
export type LambdaFunctionUsage = z.infer<typeof LambdaFunctionUsage>;

/** Everything the model prices, for one or more runs. */
export const CostInputs = z.object({
  runs: z.number().int().nonnegative(),
  /** Accounts worked by the runs, summed over runs (one account in one run = one iteration). */
  accountIterations: z.number().int().nonnegative(),
  stepFunctions: z.object({
    standardTransitions: z.number().int().nonnegative(),
    expressRequests: z.number().int().nonnegative(),
    /** Sum over Express executions of each one's duration rounded up to 100 ms. */
    expressBilledMs: z.number().nonnegative(),
    expressMemoryMb: z.number().int().min(EXPRESS_MEMORY_CHUNK_MB),
  }),
  lambda: z.array(LambdaFunctionUsage),
  dynamodb: z.object({ readRequestUnits: z.number().nonnegative(), writeRequestUnits: z.number().nonnegative() }),
  logs: z.object({
    /** Bytes the handlers wrote (counted). */
    handlerBytes: z.number().nonnegative(),
    /** Lambda's START/END/REPORT lines (estimated per invocation). */
    lambdaPlatformBytes: z.number().nonnegative(),
    /** Execution logs of the state machines (estimated, see estimateStateMachineLogBytes). */
    stateMachineBytes: z.number().nonnegative(),
  }),
  /** Emails sent through SES: approval requests and run reports. */
  emails: z.number().int().nonnegative(),
  /** EventBridge Scheduler invocations (one per scheduled run). */
  schedulerInvocations: z.number().int().nonnegative(),
});
export type CostInputs = z.infer<typeof CostInputs>;

/** The services the model prices. */
export const SERVICES = ['stepFunctionsStandard', 'stepFunctionsExpress', 'lambda', 'dynamodb', 'cloudwatchLogs', 'ses', 'scheduler'] as const;
/** One priced service. */
export type Service = (typeof SERVICES)[number];

/** One priced line: a quantity of billed units of one service. */
export interface CostLine {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** A service's share of the cost. */
export interface ServiceCost {
  readonly usd: number;
  readonly perRunUsd: number;
  /** null when no account was worked. */
  readonly perThousandAccountIterationsUsd: number | null;
}

/** The model's answer. */
export interface CostEstimate {
  readonly totalUsd: number;
  /** null when there was no run. */
  readonly perRunUsd: number | null;
  /** null when no account was worked. */
  readonly perThousandAccountIterationsUsd: number | null;
  readonly byService: Readonly<Record<Service, ServiceCost>>;
  readonly lines: readonly CostLine[];
  readonly inputs: CostInputs;
}

/** Prices counted usage: per run, per 1,000 account-iterations and per service. */
export function estimateCost(rawInputs: CostInputs, prices: Prices): CostEstimate {
  const inputs = CostInputs.parse(rawInputs);
  const p = prices.prices;
  const lines: CostLine[] = [];
  const line = (service: Service, item: string, quantity: number, unit: string, price: Price) =>
    lines.push({ service, item, quantity, unit, usd: quantity * unitPrice(price) });

  const sf = inputs.stepFunctions;
  line('stepFunctionsStandard', 'state transitions', sf.standardTransitions, 'transitions', p.stepFunctionsStandardTransition);
  line('stepFunctionsExpress', 'requests', sf.expressRequests, 'requests', p.stepFunctionsExpressRequest);
  line('stepFunctionsExpress', `duration at ${sf.expressMemoryMb} MB`, (sf.expressBilledMs / 1000) * (sf.expressMemoryMb / 1024), 'GB-s', p.stepFunctionsExpressGbSecond);
  const invocations = inputs.lambda.reduce((n, f) => n + f.invocations, 0);
  line('lambda', 'requests', invocations, 'requests', p.lambdaRequest);
  for (const arch of ['arm64', 'x86_64'] as const) {
    const fns = inputs.lambda.filter((f) => f.architecture === arch);
    if (fns.length === 0) continue;
    const gbSeconds = fns.reduce((n, f) => n + (f.billedMs / 1000) * (f.memoryMb / 1024), 0);
    line('lambda', `duration (${arch})`, gbSeconds, 'GB-s', arch === 'arm64' ? p.lambdaArmGbSecond : p.lambdaX86GbSecond);
  }
  line('dynamodb', 'write request units', inputs.dynamodb.writeRequestUnits, 'WRU', p.dynamodbWriteRequestUnit);
  line('dynamodb', 'read request units', inputs.dynamodb.readRequestUnits, 'RRU', p.dynamodbReadRequestUnit);
  const logs = inputs.logs;
  line('cloudwatchLogs', 'handler output', logs.handlerBytes / GIB, 'GB', p.cloudwatchLogsIngestedGb);
  line('cloudwatchLogs', 'Lambda platform lines (est.)', logs.lambdaPlatformBytes / GIB, 'GB', p.cloudwatchLogsIngestedGb);
  line('cloudwatchLogs', 'state machine execution logs (est.)', logs.stateMachineBytes / GIB, 'GB', p.cloudwatchLogsIngestedGb);
  line('ses', 'emails', inputs.emails, 'emails', p.sesEmail);
  line('scheduler', 'invocations', inputs.schedulerInvocations, 'invocations', p.schedulerInvocation);

  const per = (usd: number) => ({
    usd,
    perRunUsd: inputs.runs > 0 ? usd / inputs.runs : 0,
    perThousandAccountIterationsUsd: inputs.accountIterations > 0 ? (usd / inputs.accountIterations) * 1000 : null,
  });
  const byService = Object.fromEntries(
    SERVICES.map((s) => [s, per(lines.filter((l) => l.service === s).reduce((n, l) => n + l.usd, 0))]),
  ) as Record<Service, ServiceCost>;
  const total = per(lines.reduce((n, l) => n + l.usd, 0));
  return {
    totalUsd: total.usd,
    perRunUsd: inputs.runs > 0 ? total.perRunUsd : null,
    perThousandAccountIterationsUsd: total.perThousandAccountIterationsUsd,
    byService,
    lines,
    inputs,
  };
}

/** Adds the usage of several run sets (e.g. the runs of a report). */
export function addCostInputs(all: readonly CostInputs[]): CostInputs {
  const lambda = new Map<string, LambdaFunctionUsage>();
  for (const i of all) {
    for (const f of i.lambda) {
      const prev = lambda.get(f.name);
      lambda.set(f.name, prev ? { ...prev, invocations: prev.invocations + f.invocations, billedMs: prev.billedMs + f.billedMs } : { ...f });
    }
  }
  const sum = (pick: (i: CostInputs) => number) => all.reduce((n, i) => n + pick(i), 0);
  return {
    runs: sum((i) => i.runs),
    accountIterations: sum((i) => i.accountIterations),
    stepFunctions: {
      standardTransitions: sum((i) => i.stepFunctions.standardTransitions),
      expressRequests: sum((i) => i.stepFunctions.expressRequests),
      expressBilledMs: sum((i) => i.stepFunctions.expressBilledMs),
      expressMemoryMb: Math.max(EXPRESS_MEMORY_CHUNK_MB, ...all.map((i) => i.stepFunctions.expressMemoryMb)),
    },
    lambda: [...lambda.values()].sort((a, b) => a.name.localeCompare(b.name)),
    dynamodb: { readRequestUnits: sum((i) => i.dynamodb.readRequestUnits), writeRequestUnits: sum((i) => i.dynamodb.writeRequestUnits) },
    logs: {
      handlerBytes: sum((i) => i.logs.handlerBytes),
      lambdaPlatformBytes: sum((i) => i.logs.lambdaPlatformBytes),
      stateMachineBytes: sum((i) => i.logs.stateMachineBytes),
    },
    emails: sum((i) => i.emails),
    schedulerInvocations: sum((i) => i.schedulerInvocations),
  };
}

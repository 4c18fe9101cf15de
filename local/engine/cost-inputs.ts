/**
 * Turns what the local engine and the metered DynamoDB client counted during a run into the cost
 * model's inputs, reading from the synthesized template what AWS would bill by: each function's
 * MemorySize and architecture, and each state machine's logging settings.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYamlFile } from '../../shared/config/load.ts';
import type { CapacitySnapshot } from '../../shared/adapters/dynamodb/client.ts';
import {
  LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION,
  Prices,
  estimateStateMachineLogBytes,
  expressBilledMemoryMb,
  type CostInputs,
  type LambdaFunctionUsage,
} from '../../shared/domain/cost.ts';
import type { ResolvedTemplate } from './template.ts';
import type { ExecutionStats, LambdaUsage } from './workflow-engine.ts';

/** The list prices shipped with the project. */
export const DEFAULT_PRICES_FILE = fileURLToPath(new URL('../../config/prices.yaml', import.meta.url));

/** Loads and validates a prices file (InvalidConfigError naming the file and field when wrong). */
export function loadPrices(file: string = DEFAULT_PRICES_FILE): Prices {
  return loadYamlFile(resolve(file), Prices).value;
}

/** What one run used, as counted locally. */
export interface RunUsage {
  readonly stats: ExecutionStats;
  readonly capacity: CapacitySnapshot;
  /** Accounts the run worked (observed in its segment). */
  readonly accountIterations: number;
  readonly emails: number;
  /** Invocations outside the workflow (the approval page's function), by logical id. */
  readonly extraLambdas?: Readonly<Record<string, LambdaUsage>>;
}

/** Cost inputs of one run, priced by the template's settings. */
export function costInputsOf(usage: RunUsage, template: ResolvedTemplate): CostInputs {
  const { stats } = usage;
  const machines = [...template.stateMachines.values()];
  let stateMachineBytes = 0;
  for (const type of ['STANDARD', 'EXPRESS'] as const) {
    // Counted per workflow type; the template has one machine of each type.
    const sm = machines.find((m) => m.type === type);
    if (!sm) continue;
    stateMachineBytes += estimateStateMachineLogBytes({
      level: sm.logging.level,
      includeExecutionData: sm.logging.includeExecutionData,
      executions: stats.executions[type],
      transitions: stats.transitions[type],
      taskTransitions: stats.taskTransitions[type],
      mapIterations: stats.mapIterations[type],
      payloadBytes: stats.payloadBytes[type],
      taskPayloadBytes: stats.taskPayloadBytes[type],
    });
  }
  const express = machines.find((m) => m.type === 'EXPRESS');
  const lambdaUsage = new Map<string, LambdaUsage>(Object.entries(stats.lambdas));
  for (const [id, u] of Object.entries(usage.extraLambdas ?? {})) {
    const prev = lambdaUsage.get(id) ?? { invocations: 0, billedMs: 0 };
    lambdaUsage.set(id, { invocations: prev.invocations + u.invocations, billedMs: prev.billedMs + u.billedMs });
  }
  const lambda: LambdaFunctionUsage[] = [...lambdaUsage].map(([logicalId, u]) => {
    const fn = template.functions.get(logicalId);
    if (!fn) throw new Error(`costInputsOf: Lambda ${logicalId} is not in the template`);
    return { name: fn.name, invocations: u.invocations, billedMs: u.billedMs, memoryMb: fn.memoryMb, architecture: fn.architecture };
  });
  const invocations = lambda.reduce((n, f) => n + f.invocations, 0);
  return {
    runs: 1,
    accountIterations: usage.accountIterations,
    stepFunctions: {
      standardTransitions: stats.transitions.STANDARD,
      expressRequests: stats.executions.EXPRESS,
      expressBilledMs: stats.expressBilledMs,
      expressMemoryMb: expressBilledMemoryMb(express ? Buffer.byteLength(express.definitionString) : 0, stats.maxPayloadBytes),
    },
    lambda: lambda.sort((a, b) => a.name.localeCompare(b.name)),
    dynamodb: { readRequestUnits: usage.capacity.readUnits, writeRequestUnits: usage.capacity.writeUnits },
    logs: {
      handlerBytes: stats.handlerLogBytes,
      lambdaPlatformBytes: invocations * LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION,
      stateMachineBytes,
    },
    emails: usage.emails,
    // One schedule fires one CampaignRun.
    schedulerInvocations: 1,
  };
}

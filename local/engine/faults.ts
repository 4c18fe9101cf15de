/**
 * Fault injection for the embedded default (off unless asked for): tools that fail transiently,
 * time out after the world received the call, or refuse for good, at a rate; DynamoDB calls
 * throttled (and so retried by the SDK, as AWS would make it); every Lambda step delivered twice.
 * Draws are keyed by a seed and a counter, so a faulty run repeats.
 *
 * `AMK_FAULTS` or `amk run --faults` take the same text, e.g.
 * `tools=0.2,throttle=0.05,duplicates` (rates from 0 to 1).
 */
import { keyedRandom } from '../../shared/domain/random.ts';
import { ToolFailedError, ToolRejectedError } from '../../shared/domain/errors.ts';
import type { InstrumentableClient } from '../../shared/adapters/lambda/compose.ts';
import type { ToolGateway } from '../../shared/ports/index.ts';

/** What to inject, and how often. */
export interface FaultPlan {
  /** Seed of the draws. */
  readonly seed: string;
  /** Share of tool calls that fail transiently before anything reaches the world. */
  readonly tools: number;
  /** Share of tool calls that reach the world and then time out for the caller. */
  readonly timeouts: number;
  /** Share of tool calls refused for good (a bad address, an unknown audience). */
  readonly rejects: number;
  /** Share of DynamoDB calls answered with a ThrottlingException (the SDK retries them). */
  readonly throttle: number;
  /** Every Lambda step is delivered twice with the same input. */
  readonly duplicates: boolean;
}

/** No faults at all. */
export const NO_FAULTS: FaultPlan = { seed: 'faults', tools: 0, timeouts: 0, rejects: 0, throttle: 0, duplicates: false };

const RATES = ['tools', 'timeouts', 'rejects', 'throttle'] as const;

/** A fault plan's text is malformed: names the part and what was expected. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** Parses `tools=0.2,throttle=0.05,duplicates[,seed=x]`. */
export function parseFaults(spec: string, seed = 'faults'): FaultPlan {
  const plan: { -readonly [K in keyof FaultPlan]: FaultPlan[K] } = { ...NO_FAULTS, seed };
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=', 2) as [string, string | undefined];
    if (key === 'duplicates') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new FaultSpecError(`faults: "${part}": duplicates takes no value (or true/false)`);
      plan.duplicates = value !== 'false';
    } else if (key === 'seed') {
      if (!value) throw new FaultSpecError(`faults: "${part}": seed needs a value`);
      plan.seed = value;
    } else if ((RATES as readonly string[]).includes(key)) {
      const rate = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
        throw new FaultSpecError(`faults: "${part}": ${key} expects a rate from 0 to 1, got ${value === undefined ? 'nothing' : `"${value}"`}`);
      }
      plan[key as (typeof RATES)[number]] = rate;
    } else {
      throw new FaultSpecError(`faults: "${part}": unknown fault "${key}" (expected ${[...RATES, 'duplicates', 'seed'].join(', ')})`);
    }
  }
  return plan;
}

/** How many faults of each kind were injected. */
export class FaultTally {
  toolFailures = 0;
  toolTimeouts = 0;
  toolRejects = 0;
  throttles = 0;
  duplicateDeliveries = 0;
  private draws = 0;

  constructor(readonly plan: FaultPlan) {}

  /** True with probability `rate` (a keyed draw). */
  hit(kind: string, rate: number): boolean {
    if (rate <= 0) return false;
    return keyedRandom(this.plan.seed, kind, this.draws++) < rate;
  }

  /** The figures, for reports. */
  snapshot(): { toolFailures: number; toolTimeouts: number; toolRejects: number; throttles: number; duplicateDeliveries: number } {
    const { toolFailures, toolTimeouts, toolRejects, throttles, duplicateDeliveries } = this;
    return { toolFailures, toolTimeouts, toolRejects, throttles, duplicateDeliveries };
  }
}

/** The world's tools with the plan's tool faults around them. */
export function faultyTools(tools: ToolGateway, tally: FaultTally): ToolGateway {
  const { plan } = tally;
  return {
    execute: async (action, stakeholders, account) => {
      if (tally.hit('tool-reject', plan.rejects)) {
        tally.toolRejects += 1;
        throw new ToolRejectedError(`injected: ${action.tool} refused action ${action.id}`);
      }
      if (tally.hit('tool-fail', plan.tools)) {
        tally.toolFailures += 1;
        throw new ToolFailedError(`injected: ${action.tool} failed transiently for action ${action.id}`);
      }
      const result = await tools.execute(action, stakeholders, account);
      if (tally.hit('tool-timeout', plan.timeouts)) {
        tally.toolTimeouts += 1;
        throw new ToolFailedError(`injected: ${action.tool} timed out for action ${action.id} (the world received it)`);
      }
      return result;
    },
  };
}

type Stack = {
  add(mw: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, opts: Record<string, unknown>): void;
};

/**
 * Throttles a DynamoDB client's calls at the plan's rate, inside the SDK's retry loop (after the
 * retry middleware), so that they are retried as AWS throttling is.
 */
export function throttle(client: InstrumentableClient, tally: FaultTally): void {
  if (tally.plan.throttle <= 0) return;
  (client.middlewareStack as unknown as Stack).add(
    (next) => async (args) => {
      if (tally.hit('throttle', tally.plan.throttle)) {
        tally.throttles += 1;
        throw Object.assign(new Error('injected: Rate of requests exceeds the allowed throughput.'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          $retryable: { throttling: true },
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'amkInjectedThrottle', override: true },
  );
}

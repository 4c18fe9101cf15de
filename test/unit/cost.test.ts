/**
 * The cost model against figures computed by hand from the us-east-1 list prices, the log
 * estimate's event arithmetic, and the prices file's validation.
 */
import { describe, expect, it } from 'vitest';
import {
  addCostInputs,
  estimateCost,
  estimateStateMachineLogBytes,
  expressBilledMemoryMb,
  GIB,
  Prices,
  type CostInputs,
  type Price,
} from '../../shared/domain/cost.ts';
import { loadPrices } from '../../local/engine/cost-inputs.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import { itemSize } from '../../shared/adapters/dynamodb/client.ts';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const price = (usd: number, per: number, unit: string): Price => ({
  usd,
  per,
  unit,
  source: 'https://aws.amazon.com/pricing/',
  quote: `${usd} per ${per} ${unit}`,
  checked: '2026-11-27',
});

/** The list prices of config/prices.yaml, inline so the model's arithmetic is tested on its own. */
const PRICES: Prices = {
  region: 'us-east-1',
  currency: 'USD',
  prices: {
    stepFunctionsStandardTransition: price(0.025, 1000, 'transition'),
    stepFunctionsExpressRequest: price(1, 1_000_000, 'request'),
    stepFunctionsExpressGbSecond: price(0.00001667, 1, 'GB-s'),
    lambdaRequest: price(0.2, 1_000_000, 'request'),
    lambdaArmGbSecond: price(0.0000133334, 1, 'GB-s'),
    lambdaX86GbSecond: price(0.0000166667, 1, 'GB-s'),
    dynamodbWriteRequestUnit: price(0.625, 1_000_000, 'WRU'),
    dynamodbReadRequestUnit: price(0.125, 1_000_000, 'RRU'),
    cloudwatchLogsIngestedGb: price(0.5, 1, 'GB'),
    sesEmail: price(0.1, 1000, 'email'),
    schedulerInvocation: price(1, 1_000_000, 'invocation'),
  },
};

/** Two runs over 1,000 accounts each. */
const INPUTS: CostInputs = {
  runs: 2,
  accountIterations: 2000,
  stepFunctions: { standardTransitions: 40, expressRequests: 8, expressBilledMs: 400_000, expressMemoryMb: 64 },
  lambda: [
    { name: 'observe', invocations: 1000, billedMs: 50_000, memoryMb: 256, architecture: 'arm64' },
    { name: 'legacy', invocations: 10, billedMs: 1000, memoryMb: 1024, architecture: 'x86_64' },
  ],
  dynamodb: { readRequestUnits: 8000, writeRequestUnits: 20_000 },
  logs: { handlerBytes: 0, lambdaPlatformBytes: GIB / 2, stateMachineBytes: GIB / 2 },
  emails: 10,
  schedulerInvocations: 2,
};

describe('the cost model', () => {
  const cost = estimateCost(INPUTS, PRICES);

  it('prices Standard transitions at $0.025 per 1,000', () => {
    // 40 x 0.025 / 1000
    expect(cost.byService.stepFunctionsStandard.usd).toBeCloseTo(0.001, 12);
  });

  it('prices Express by request and by GB-second at the billed memory', () => {
    // 8 x $0.000001 + (400 s x 64/1024 GB = 25 GB-s) x $0.00001667
    expect(cost.byService.stepFunctionsExpress.usd).toBeCloseTo(0.000008 + 0.00041675, 12);
  });

  it('prices Lambda requests and duration at each function\'s memory and architecture', () => {
    // 1,010 x $0.0000002 + (50 s x 0.25 GB) x $0.0000133334 (arm64) + (1 s x 1 GB) x $0.0000166667 (x86_64)
    expect(cost.byService.lambda.usd).toBeCloseTo(0.000202 + 0.0001666675 + 0.0000166667, 12);
  });

  it('prices DynamoDB on-demand request units', () => {
    // 20,000 WRU x $0.625/M + 8,000 RRU x $0.125/M
    expect(cost.byService.dynamodb.usd).toBeCloseTo(0.0125 + 0.001, 12);
  });

  it('prices every logged byte as CloudWatch Logs ingestion', () => {
    // (0.5 + 0.5) GiB x $0.50
    expect(cost.byService.cloudwatchLogs.usd).toBeCloseTo(0.5, 12);
  });

  it('prices emails through SES and runs through Scheduler', () => {
    expect(cost.byService.ses.usd).toBeCloseTo(0.001, 12);
    expect(cost.byService.scheduler.usd).toBeCloseTo(0.000002, 12);
  });

  it('divides the total per run and per 1,000 account-iterations', () => {
    const total = 0.001 + 0.00042475 + 0.0003853342 + 0.0135 + 0.5 + 0.001 + 0.000002;
    expect(cost.totalUsd).toBeCloseTo(total, 10);
    expect(cost.perRunUsd).toBeCloseTo(total / 2, 10);
    expect(cost.perThousandAccountIterationsUsd).toBeCloseTo((total / 2000) * 1000, 10);
    expect(cost.byService.dynamodb.perThousandAccountIterationsUsd).toBeCloseTo(0.0135 / 2, 12);
  });

  it('answers null per account-iteration when no account was worked', () => {
    const none = estimateCost({ ...INPUTS, accountIterations: 0 }, PRICES);
    expect(none.perThousandAccountIterationsUsd).toBeNull();
    expect(none.byService.lambda.perThousandAccountIterationsUsd).toBeNull();
  });

  it('rejects inputs that cannot be billed, such as Express memory under 64 MB', () => {
    expect(() => estimateCost({ ...INPUTS, stepFunctions: { ...INPUTS.stepFunctions, expressMemoryMb: 32 } }, PRICES)).toThrow();
  });

  it('adds the usage of several runs, merging functions by name', () => {
    const sum = addCostInputs([INPUTS, INPUTS]);
    expect(sum.runs).toBe(4);
    expect(sum.stepFunctions.standardTransitions).toBe(80);
    expect(sum.lambda).toEqual([
      { name: 'legacy', invocations: 20, billedMs: 2000, memoryMb: 1024, architecture: 'x86_64' },
      { name: 'observe', invocations: 2000, billedMs: 100_000, memoryMb: 256, architecture: 'arm64' },
    ]);
    expect(estimateCost(sum, PRICES).perThousandAccountIterationsUsd).toBeCloseTo(cost.perThousandAccountIterationsUsd ?? 0, 12);
  });
});

describe('the state-machine log estimate', () => {
  const activity = { executions: 1, transitions: 10, taskTransitions: 5, mapIterations: 2, payloadBytes: 10_000, taskPayloadBytes: 6000 };

  it('at level ALL with execution data, counts every event\'s envelope and the payloads (Task payloads twice)', () => {
    // events: 2 per execution + 2 per state + 3 more per Task + 2 per Map iteration = 2 + 20 + 15 + 4 = 41
    expect(estimateStateMachineLogBytes({ level: 'ALL', includeExecutionData: true, ...activity })).toBe(41 * 350 + 10_000 + 6000);
  });

  it('without execution data, counts the envelopes only', () => {
    expect(estimateStateMachineLogBytes({ level: 'ALL', includeExecutionData: false, ...activity })).toBe(41 * 350);
  });

  it('at ERROR, FATAL or OFF logs nothing on the success path', () => {
    for (const level of ['ERROR', 'FATAL', 'OFF'] as const) {
      expect(estimateStateMachineLogBytes({ level, includeExecutionData: true, ...activity })).toBe(0);
    }
  });
});

describe('Express billed memory', () => {
  it('is one 64 MB chunk for a small definition and payload', () => {
    expect(expressBilledMemoryMb(12_000, 250_000)).toBe(64);
  });

  it('grows in 64 MB chunks', () => {
    expect(expressBilledMemoryMb(0, 70 * 1024 * 1024)).toBe(128);
  });
});

describe('DynamoDB item size', () => {
  it('counts attribute names and values as DynamoDB bills them', () => {
    // pk: 2+2; n: 1 + (2 digits-pairs + 1); b: 1+1; l: 1 + 3 + (1+1) + (1+2); m: 1 + 3 + 1 + (1+2)
    const item = { pk: { S: 'ab' }, n: { N: '123' }, b: { BOOL: true }, l: { L: [{ S: 'x' }, { N: '1' }] }, m: { M: { a: { S: 'yy' } } } };
    expect(itemSize(item)).toBe(4 + 4 + 2 + 9 + 8);
  });

  it('counts UTF-8 bytes of strings', () => {
    expect(itemSize({ é: { S: 'ü' } })).toBe(4);
  });
});

describe('the prices file', () => {
  it('config/prices.yaml is valid, and every price names its source and the day it was read', () => {
    const prices = loadPrices();
    expect(prices.region).toBe('us-east-1');
    for (const p of Object.values(prices.prices)) {
      expect(p.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(p.quote.length).toBeGreaterThan(10);
      expect(p.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('a prices file without a price is refused naming the missing price', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amk-prices-'));
    try {
      const file = join(dir, 'prices.yaml');
      writeFileSync(file, 'region: us-east-1\ncurrency: USD\nprices: {}\n');
      expect(() => loadPrices(file)).toThrow(InvalidConfigError);
      try {
        loadPrices(file);
      } catch (err) {
        expect(err instanceof InvalidConfigError && err.problems.map((p) => p.path).join(' ')).toMatch(/prices\.stepFunctionsStandardTransition/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

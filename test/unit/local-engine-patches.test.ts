/**
 * The local engine behaves as AWS documents where aws-local-stepfunctions 3.0 did not (fixed by
 * patches/aws-local-stepfunctions+3.0.0.patch, applied by `npm ci`'s postinstall). Each case
 * fails on the unpatched library.
 */
import { describe, expect, it } from 'vitest';
import '../../local/engine/promise-polyfill.ts';
import { StateMachine } from 'aws-local-stepfunctions';

const run = async (definition: object, input: unknown, overrides?: object): Promise<unknown> =>
  new StateMachine(definition as never).run(input as never, overrides ? { overrides: overrides as never } : {}).result;

describe('the patched local engine', () => {
  it('replaces the state with the result for ResultPath "$"', async () => {
    const out = await run({ StartAt: 'P', States: { P: { Type: 'Pass', Result: { b: 2 }, ResultPath: '$', End: true } } }, { a: 1 });
    expect(out).toEqual({ b: 2 });
  });

  it('reads TimeoutSecondsPath from the raw state input, not from the Parameters result', async () => {
    const definition = {
      StartAt: 'T',
      States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', Parameters: { only: 1 }, TimeoutSecondsPath: '$.timeout', End: true } },
    };
    const out = await run(definition, { timeout: 5 }, { taskResourceLocalHandlers: { T: async () => 'done' } });
    expect(out).toBe('done');
  });

  it.each([
    ['IsNull', false, 'x', 'yes'],
    ['IsNull', false, null, 'no'],
    ['IsNull', true, null, 'yes'],
    ['IsPresent', false, undefined, 'yes'],
    ['IsPresent', true, undefined, 'no'],
    ['IsString', false, 3, 'yes'],
    ['IsNumeric', false, 'x', 'yes'],
    ['IsBoolean', false, 1, 'yes'],
    ['IsTimestamp', false, 'not a time', 'yes'],
  ])('matches %s: %s on %j as AWS does (%s)', async (test, expected, value, answer) => {
    const definition = {
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.v', [test]: expected, Next: 'Yes' }], Default: 'No' },
        Yes: { Type: 'Pass', Result: 'yes', End: true },
        No: { Type: 'Pass', Result: 'no', End: true },
      },
    };
    expect(await run(definition, value === undefined ? {} : { v: value })).toBe(answer);
  });
});

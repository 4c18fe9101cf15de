/**
 * What the YAML loader says of a wrong value: the value itself and what was expected (never "is
 * required" for a value that is there), times of day that exist, approval lifetimes a link can
 * have, and approval waits that fit in the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkApprovalWaits, loadAllCampaigns, loadYamlFile } from '../../shared/config/load.ts';
import { Charter, Guardrails } from '../../shared/domain/config.ts';
import { InvalidConfigError } from '../../shared/domain/errors.ts';
import { PROJECT_ROOT } from '../../cdk/constructs/agent-function.ts';

const dir = mkdtempSync(join(tmpdir(), 'amk-config-validation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (file: string): string => readFileSync(join(PROJECT_ROOT, 'config', file), 'utf8');

/** The problems loading `text` as `schema` reports. */
function problemsOf(name: string, text: string, schema: typeof Charter | typeof Guardrails): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  try {
    loadYamlFile(file, schema);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return (err as InvalidConfigError).problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  }
  throw new Error(`${name} loaded without a problem`);
}

describe('a value of the wrong kind', () => {
  const charter = sample('charters/nurture-agent.yaml');

  it.each([
    ['a word', '"lots"', 'expected number, got "lots"'],
    ['.nan', '.nan', 'expected number, got NaN (not a finite number)'],
    ['1e400 (Infinity)', '1e400', 'expected number, got Infinity (not a finite number)'],
  ])('names the bad value (%s) and what was expected, not "is required"', (_label, value, expected) => {
    const problems = problemsOf('charter.yaml', charter.replace('spendPerMonthUsd: 2000', `spendPerMonthUsd: ${value}`), Charter);
    expect(problems).toContain('budgets.spendPerMonthUsd');
    expect(problems).toContain(expected);
    expect(problems).not.toContain('is required');
  });

  it('still calls a missing field missing', () => {
    expect(problemsOf('charter.yaml', charter.replace(/^owner: .*\n/m, ''), Charter)).toBe('owner: is required (expected string)');
  });

  it('refuses an alias to an anchor that is not set, as invalid YAML (found by the fuzz test)', () => {
    const problems = problemsOf('charter.yaml', charter.replace('spendPerMonthUsd: 2000', 'spendPerMonthUsd: *budget'), Charter);
    expect(problems).toContain('invalid YAML: Unresolved alias');
  });

  it('refuses an approval lifetime shorter than a second', () => {
    const problems = problemsOf('charter.yaml', charter.replace('approvalTimeoutHours: 48', 'approvalTimeoutHours: 0.0000001'), Charter);
    expect(problems).toContain('escalation.approvalTimeoutHours');
    expect(problems).toContain('must be at least one second');
  });
});

describe('quiet hours', () => {
  const guardrails = sample('guardrails/default.yaml');

  it.each(['29:75', '24:00', '7:00', '07:60'])('refuses %s, which is no time of day', (time) => {
    const problems = problemsOf('guardrails.yaml', guardrails.replace('start: "20:00"', `start: "${time}"`), Guardrails);
    expect(problems).toContain('quietHours.start');
    expect(problems).toContain('expected a time of day HH:MM, 00:00 to 23:59');
  });

  it('accepts 00:00 and 23:59', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, guardrails.replace('start: "20:00"', 'start: "23:59"').replace('end: "07:00"', 'end: "00:00"'));
    expect(loadYamlFile(file, Guardrails).value.quietHours).toEqual({ start: '23:59', end: '00:00' });
  });
});

describe('approval waits and the run timeout', () => {
  const campaigns = loadAllCampaigns(join(PROJECT_ROOT, 'config'));
  const fifteenDays = 15 * 24 * 3600;

  it('lets the sample through: 72 h, and 72 h again for the escalation, fit in 15 days', () => {
    expect(() => checkApprovalWaits(campaigns, fifteenDays)).not.toThrow();
  });

  it('refuses a charter whose wait with its escalation outlasts the run, naming file and field and what fits', () => {
    const long = campaigns.map((b) => ({
      ...b,
      charters: b.charters.map((c) => ({ ...c, charter: { ...c.charter, escalation: { ...c.charter.escalation, approvalTimeoutHours: 200 } } })),
    }));
    let caught: unknown;
    try {
      checkApprovalWaits(long, fifteenDays);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).file).toMatch(/executive-outreach-agent\.yaml$/);
    expect((caught as Error).message).toContain('escalation.approvalTimeoutHours: approvals would wait up to 200 h, then as long again for the escalation to cmo@example.com');
    expect((caught as Error).message).toContain('use at most 179 hours');
  });
});

/**
 * Signals from outside, pure: the batch schema and its problems, SES events mapped to signals
 * (record shapes from the AWS docs), the message tags that map an email back, and the fold of
 * bounces and complaints into the committee.
 */
import { describe, expect, it } from 'vitest';
import { foldSignals, suppressedBy } from '../../shared/domain/observe.ts';
import { MAX_SIGNALS_PER_BATCH, canonicalSignal, describeIssues, parseSignalBatch, parseSignalBatchText } from '../../shared/domain/signals-batch.ts';
import { SesEmailEvent, idsOfTags, prospectEmailTags, signalsOfSesEvent } from '../../shared/domain/signals-ses.ts';
import { NOW, aSignal, aStakeholder, anAccount, daysAgo } from './builders.ts';

const signal = (over: Record<string, unknown> = {}) => ({ id: 's1', accountId: 'acc-1', kind: 'web_visit', at: '2027-01-04T13:00:00Z', ...over });

describe('the signal batch schema', () => {
  it('takes 1 to 500 signals with PipelineSignal\'s fields', () => {
    const batch = { signals: [signal(), signal({ id: 's2', kind: 'reply', stakeholderId: 'st-1', causedBy: 'act-1' }), signal({ id: 's3', kind: 'crm_stage_change', stage: 'evaluating' })] };
    const out = parseSignalBatch(batch);
    expect(out.ok && out.signals.map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    expect(parseSignalBatch({ signals: Array.from({ length: MAX_SIGNALS_PER_BATCH }, (_, i) => signal({ id: `s${i}` })) }).ok).toBe(true);
  });

  it('refuses the whole batch for one bad signal, naming its index, field, value and what was expected', () => {
    const out = parseSignalBatch({ signals: [signal(), signal({ id: 's2', kind: 'opne' }), signal({ id: 's3', at: 'yesterday' })] });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.issues.map((i) => [i.path, i.value])).toEqual([
      ['signals.1.kind', '"opne"'],
      ['signals.2.at', '"yesterday"'],
    ]);
    expect(out.issues[0]?.expected).toContain('"open"');
    expect(out.issues[1]?.expected).toContain('ISO 8601');
    expect(describeIssues(out.issues)).toContain('signals.1.kind: got "opne"');
  });

  it('refuses unknown fields, empty and oversized batches, repeated ids, and kinds without what they need', () => {
    const problems = (input: unknown) => {
      const out = parseSignalBatch(input);
      return out.ok ? [] : out.issues.map((i) => i.path);
    };
    expect(problems({ signals: [signal({ acountId: 'x' })] })).toEqual(['signals.0.acountId']);
    expect(problems({ signals: [] })).toEqual(['signals']);
    expect(problems({ signals: Array.from({ length: MAX_SIGNALS_PER_BATCH + 1 }, (_, i) => signal({ id: `s${i}` })) })).toEqual(['signals']);
    expect(problems({ signals: [signal(), signal()] })).toEqual(['signals.1.id']);
    expect(problems({ signals: [signal({ kind: 'crm_stage_change' }), signal({ id: 's2', kind: 'objection_raised' }), signal({ id: 's3', kind: 'bounce' })] })).toEqual([
      'signals.0.stage',
      'signals.1.topic',
      'signals.2.stakeholderId',
    ]);
    expect(problems({ signals: [signal({ id: 'x'.repeat(257) })] })).toEqual(['signals.0.id']);
    expect(problems([signal()])).toEqual(['(body)']);
    const text = parseSignalBatchText('{"signals": [');
    expect(!text.ok && text.issues[0]?.path).toBe('(body)');
  });

  it('stores one form of a signal: the same instant in another zone is the same signal', () => {
    expect(canonicalSignal(aSignal({ kind: 'open', at: '2027-01-04T15:00:00+01:00' })).at).toBe('2027-01-04T14:00:00.000Z');
  });
});

describe('message tags of a prospect email', () => {
  it('carry account, stakeholder (one recipient only) and action, and read back exactly, also for ids SES tags cannot hold', () => {
    const plain = prospectEmailTags({ accountId: 'acc-0001', stakeholderIds: ['stk-0001-02'], actionId: 'a4bf85ba' });
    expect(plain).toEqual({ 'amk-account': 'acc-0001', 'amk-stakeholder': 'stk-0001-02', 'amk-action': 'a4bf85ba' });
    const odd = prospectEmailTags({ accountId: 'ACME Corp/EMEA', stakeholderIds: ['jane.doe@acme'], actionId: 'run#1:act 2' });
    for (const [name, value] of Object.entries(odd)) {
      expect(name).toMatch(/-b64$/);
      expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    const asEvent = (tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, [v]]));
    expect(idsOfTags(asEvent(odd))).toEqual({ accountId: 'ACME Corp/EMEA', stakeholderId: 'jane.doe@acme', actionId: 'run#1:act 2' });
    expect(prospectEmailTags({ accountId: 'a', stakeholderIds: ['x', 'y'], actionId: 'b' })).toEqual({ 'amk-account': 'a', 'amk-action': 'b' });
  });
});

/** An SES event record as the AWS docs show it (event publishing, "Bounce record"), with the email's tags. */
function sesRecord(eventType: string, part: Record<string, unknown>, over: { destination?: string[]; tags?: Record<string, string[]> } = {}) {
  return SesEmailEvent.parse({
    eventType,
    ...part,
    mail: {
      timestamp: '2027-01-04T14:00:02.012Z',
      source: 'Sender Name <sender@example.com>',
      sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/sender@example.com',
      sendingAccountId: '123456789012',
      messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      destination: over.destination ?? ['st-1@acme.example'],
      headersTruncated: false,
      headers: [{ name: 'From', value: 'Sender Name <sender@example.com>' }],
      commonHeaders: { from: ['Sender Name <sender@example.com>'], to: ['st-1@acme.example'], subject: 'Hello' },
      tags: over.tags ?? { 'ses:configuration-set': ['ConfigSet'], 'amk-account': ['acc-1'], 'amk-stakeholder': ['st-1'], 'amk-action': ['act-1'] },
    },
  });
}

describe('SES events as signals', () => {
  const people = [aStakeholder({ id: 'st-1' }), aStakeholder({ id: 'st-2', email: 'Second.Person@acme.example' })];
  const bounce = (bounceType: string, recipients: string[]) =>
    sesRecord('Bounce', {
      bounce: {
        bounceType,
        bounceSubType: 'General',
        bouncedRecipients: recipients.map((emailAddress) => ({ emailAddress, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' })),
        timestamp: '2027-01-04T14:01:02.669Z',
        feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
        reportingMTA: 'dsn; mta.example.com',
      },
    });

  it('maps a hard bounce to a bounce of each bounced stakeholder, matched by address, credited to the action', () => {
    const out = signalsOfSesEvent(bounce('Permanent', ['st-1@acme.example', 'second.person@ACME.example', 'gone@elsewhere.example']), people);
    expect(out).toEqual({
      accountId: 'acc-1',
      unmatched: 1,
      signals: [
        { id: 'ses-EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000-bounce-st-1', accountId: 'acc-1', stakeholderId: 'st-1', kind: 'bounce', at: '2027-01-04T14:01:02.669Z', causedBy: 'act-1' },
        { id: 'ses-EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000-bounce-st-2', accountId: 'acc-1', stakeholderId: 'st-2', kind: 'bounce', at: '2027-01-04T14:01:02.669Z', causedBy: 'act-1' },
      ],
    });
    // The same event again maps to the same ids (stored once); no id carries an address.
    expect(signalsOfSesEvent(bounce('Permanent', ['st-1@acme.example']), people)).toMatchObject({ signals: [{ id: expect.stringMatching(/-bounce-st-1$/) }] });
    expect(JSON.stringify(out)).not.toContain('@acme');
  });

  it('ignores a soft bounce, a complaint reported as not-spam, an email without account tags and an event about nobody known', () => {
    expect(signalsOfSesEvent(bounce('Transient', ['st-1@acme.example']), people)).toEqual({ ignored: 'soft_bounce' });
    const notSpam = sesRecord('Complaint', { complaint: { complainedRecipients: [{ emailAddress: 'st-1@acme.example' }], timestamp: '2027-01-04T15:00:00.000Z', complaintFeedbackType: 'not-spam' } });
    expect(signalsOfSesEvent(notSpam, people)).toEqual({ ignored: 'not_spam' });
    const untagged = sesRecord('Open', { open: { ipAddress: '192.0.2.1', timestamp: '2027-01-04T15:00:00.000Z', userAgent: 'Mozilla' } }, { tags: { 'ses:configuration-set': ['ConfigSet'] } });
    expect(signalsOfSesEvent(untagged, people)).toEqual({ ignored: 'not_a_prospect_email' });
    expect(signalsOfSesEvent(bounce('Permanent', ['stranger@acme.example']), people)).toEqual({ ignored: 'no_recipient_known' });
  });

  it('maps a complaint, a delivery, an open and a click, naming the tagged stakeholder for opens and clicks', () => {
    const complaint = sesRecord('Complaint', { complaint: { complainedRecipients: [{ emailAddress: 'st-1@acme.example' }], timestamp: '2027-01-04T15:00:00.000Z', complaintFeedbackType: 'abuse', feedbackId: 'f', userAgent: 'u' } });
    expect(signalsOfSesEvent(complaint, people)).toMatchObject({ signals: [{ kind: 'complaint', stakeholderId: 'st-1', at: '2027-01-04T15:00:00.000Z' }] });
    const delivery = sesRecord('Delivery', { delivery: { timestamp: '2027-01-04T14:00:03.000Z', processingTimeMillis: 546, recipients: ['st-1@acme.example'], smtpResponse: '250 ok', reportingMTA: 'a8-70.smtp-out.amazonses.com' } });
    expect(signalsOfSesEvent(delivery, people)).toMatchObject({ signals: [{ kind: 'delivery', stakeholderId: 'st-1' }] });
    const open = sesRecord('Open', { open: { ipAddress: '192.0.2.1', timestamp: '2027-01-04T16:00:00.000Z', userAgent: 'Mozilla' } });
    expect(signalsOfSesEvent(open, people)).toMatchObject({ signals: [{ kind: 'open', stakeholderId: 'st-1', causedBy: 'act-1' }] });
    const click = (link: string) => sesRecord('Click', { click: { ipAddress: '192.0.2.1', timestamp: '2027-01-04T16:00:00.000Z', userAgent: 'Mozilla', link, linkTags: {} } });
    const [a, b] = [signalsOfSesEvent(click('https://a.example/'), people), signalsOfSesEvent(click('https://b.example/'), people)];
    expect('signals' in a && 'signals' in b && a.signals[0]?.id !== b.signals[0]?.id).toBe(true);
    // An email to two people names no one for an open (it is the email's, not a person's).
    const shared = sesRecord('Open', { open: { ipAddress: '192.0.2.1', timestamp: '2027-01-04T16:00:00.000Z', userAgent: 'Mozilla' } }, { destination: ['st-1@acme.example', 'second.person@acme.example'], tags: { 'amk-account': ['acc-1'], 'amk-action': ['act-1'] } });
    const mapped = signalsOfSesEvent(shared, people);
    expect('signals' in mapped && mapped.signals[0]?.stakeholderId).toBeUndefined();
  });
});

describe('foldSignals: bounces and complaints', () => {
  const committee = [aStakeholder({ id: 'st-1', consent: 'opted_in' }), aStakeholder({ id: 'st-2', consent: 'opted_in' })];
  const fold = (signals: ReturnType<typeof aSignal>[]) => foldSignals({ state: anAccount(), stakeholders: committee, signals, executed: [], now: NOW });

  it('marks a hard-bounced stakeholder do-not-contact, keeping their consent, and one who complained opted out too', () => {
    const r = fold([aSignal({ id: 'b', kind: 'bounce', stakeholderId: 'st-1', at: daysAgo(2) }), aSignal({ id: 'c', kind: 'complaint', stakeholderId: 'st-2', at: daysAgo(1) })]);
    expect(r.changedStakeholders).toEqual([
      { ...committee[0], doNotContact: true, consent: 'opted_in' },
      { ...committee[1], doNotContact: true, consent: 'opted_out' },
    ]);
    expect(r.stakeholders.every((s) => s.doNotContact)).toBe(true);
    // Neither is engagement, nor credits an action.
    expect(r.state.engagedRoles).toEqual([]);
    expect(r.state.observedUntil).toBe(daysAgo(1));
  });

  it('changes nothing for a delivery, or for a stakeholder already suppressed', () => {
    expect(fold([aSignal({ kind: 'delivery', stakeholderId: 'st-1' })]).changedStakeholders).toEqual([]);
    const suppressed = aStakeholder({ id: 'st-1', doNotContact: true, consent: 'opted_out' });
    expect(suppressedBy(suppressed, 'complaint')).toBeUndefined();
    expect(suppressedBy(suppressed, 'bounce')).toBeUndefined();
    expect(suppressedBy(aStakeholder({ consent: 'unknown' }), 'unsubscribe')).toMatchObject({ consent: 'opted_out', doNotContact: false });
  });
});

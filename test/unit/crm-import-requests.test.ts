/**
 * What an import may write, pure: the merge rules (the CRM's profile, the loop's learned state,
 * consent only tightening) and the exact DynamoDB requests that enforce them in one conditional
 * write each.
 */
import { describe, expect, it } from 'vitest';
import type { AccountState, Stakeholder } from '../../shared/domain/model.ts';
import { mergeAccount, mergeStakeholder, type ImportedContact } from '../../shared/domain/crm-import/index.ts';
import { bookQualityKey, createAccountState, getBookQuality, putBookQuality, updateAccountProfile, upsertStakeholderItem } from '../../shared/adapters/dynamodb/requests.ts';
import { bookQualityOf } from '../../shared/domain/crm-import/quality.ts';

const crm: AccountState = {
  id: 'hs-1',
  name: 'Acme',
  domain: 'acme.example',
  tier: 2,
  industry: 'Software',
  employees: 120,
  stage: 'unaware',
  engagedRoles: [],
  objections: [],
  consensus: 0,
  lastMeaningfulInteraction: null,
  observedUntil: null,
  version: 0,
};
const learned: AccountState = {
  ...crm,
  stage: 'solution_aware',
  engagedRoles: ['champion'],
  objections: ['pricing'],
  consensus: 0.4,
  lastMeaningfulInteraction: '2027-01-04T14:00:00.000Z',
  observedUntil: '2027-01-04T14:00:00.000Z',
  observation: { by: 'page#r#0#start', since: null, stage: 'problem_aware' },
  version: 7,
};

const person: Stakeholder = {
  id: 'hs-51',
  accountId: 'hs-1',
  name: 'Ada Byron',
  email: 'ada@acme.example',
  title: 'CFO',
  role: 'economic_buyer',
  seniority: 'c_level',
  timeZone: 'UTC',
  consent: 'unknown',
  doNotContact: false,
};
const contact = (s: Partial<Stakeholder> = {}, timeZoneGiven = false): ImportedContact => ({ row: 2, sourceId: '51', stakeholder: { ...person, ...s }, timeZoneGiven, roleInferred: true, linkedBy: 'account_id' });

describe('merging an account', () => {
  it('creates a new account as the CRM has it', () => {
    expect(mergeAccount(undefined, crm)).toEqual({ next: crm, change: 'create', changed: [] });
  });

  it('changes nothing when the profile is the same, whatever the loop learned', () => {
    expect(mergeAccount(learned, crm)).toEqual({ next: learned, change: 'unchanged', changed: [] });
  });

  it('takes the CRM\'s profile and keeps the stage the loop reached, its engaged roles, objections, consensus, observation and version', () => {
    const { next, change, changed } = mergeAccount(learned, { ...crm, name: 'Acme Corp', tier: 1, employees: 150, stage: 'committed' });
    expect(change).toBe('update');
    expect(changed).toEqual(['name', 'tier', 'employees']);
    expect(next).toEqual({ ...learned, name: 'Acme Corp', tier: 1, employees: 150 });
  });
});

describe('merging a stakeholder', () => {
  it('never re-subscribes: a stored opt-out stays when the CRM says nothing', () => {
    const { next, change } = mergeStakeholder({ ...person, consent: 'opted_out' }, contact());
    expect(change).toBe('unchanged');
    expect(next.consent).toBe('opted_out');
  });

  it('opts out a person the CRM says unsubscribed, or who is opted out under another record of the same address', () => {
    expect(mergeStakeholder(person, contact({ consent: 'opted_out' })).next.consent).toBe('opted_out');
    expect(mergeStakeholder(undefined, contact(), { optedOutElsewhere: true }).next.consent).toBe('opted_out');
  });

  it('keeps an opt-in, a do-not-contact and a time zone the system stored, and takes a time zone the file gives', () => {
    const stored = { ...person, consent: 'opted_in' as const, doNotContact: true, timeZone: 'Europe/Berlin' };
    expect(mergeStakeholder(stored, contact()).next).toMatchObject({ consent: 'opted_in', doNotContact: true, timeZone: 'Europe/Berlin' });
    expect(mergeStakeholder(stored, contact({ timeZone: 'America/New_York' }, true)).next.timeZone).toBe('America/New_York');
  });

  it('updates the CRM\'s fields (title, role) and says which changed', () => {
    const r = mergeStakeholder(person, contact({ title: 'VP Finance', seniority: 'vp' }));
    expect(r.change).toBe('update');
    expect(r.changed).toEqual(['title', 'seniority']);
  });
});

describe('account requests', () => {
  it('creates an imported account only where none exists, at version 0, in its shard index', () => {
    const req = createAccountState('accounts', crm);
    expect(req.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(req.Item).toMatchObject({ pk: 'ACCOUNT#hs-1', sk: 'STATE', gsi1sk: 'ACCOUNT#hs-1', version: 0, stage: 'unaware' });
    expect(String(req.Item?.['gsi1pk'])).toMatch(/^SHARD#\d{2}$/);
  });

  it('updates only the profile attributes under the version lock, bumping the version', () => {
    const req = updateAccountProfile('accounts', { ...learned, name: 'Acme Corp' }, 7);
    expect(req).toEqual({
      TableName: 'accounts',
      Key: { pk: 'ACCOUNT#hs-1', sk: 'STATE' },
      UpdateExpression: 'SET #version = :next, #name = :name, #domain = :domain, #tier = :tier, #industry = :industry, #employees = :employees',
      ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
      ExpressionAttributeNames: { '#version': 'version', '#name': 'name', '#domain': 'domain', '#tier': 'tier', '#industry': 'industry', '#employees': 'employees' },
      ExpressionAttributeValues: { ':expected': 7, ':next': 8, ':name': 'Acme Corp', ':domain': 'acme.example', ':tier': 2, ':industry': 'Software', ':employees': 120 },
      ReturnValues: 'ALL_NEW',
    });
    expect(() => updateAccountProfile('accounts', crm, -1)).toThrow(/non-negative integer/);
  });
});

describe('stakeholder requests', () => {
  it('refuses to write consent other than opted out over a stored opt-out, and no do-not-contact over a stored one, in the same write', () => {
    const req = upsertStakeholderItem('accounts', person);
    expect(req.Key).toEqual({ pk: 'ACCOUNT#hs-1', sk: 'CONTACT#hs-51' });
    expect(req.ConditionExpression).toBe('(attribute_not_exists(#consent) OR #consent <> :optedOut) AND (attribute_not_exists(#doNotContact) OR #doNotContact <> :dnc)');
    expect(req.ExpressionAttributeValues).toMatchObject({ ':optedOut': 'opted_out', ':dnc': true, ':consent': 'unknown', ':email': 'ada@acme.example' });
    expect(req.UpdateExpression).toContain('#consent = :consent');
  });

  it('writes an opt-out and a do-not-contact unconditionally', () => {
    expect(upsertStakeholderItem('accounts', { ...person, consent: 'opted_out', doNotContact: true }).ConditionExpression).toBeUndefined();
  });
});

describe('book quality requests', () => {
  const quality = bookQualityOf({ at: '2027-01-04T10:00:00+01:00', book: [], contacts: 0, imports: {} });

  it('puts the summary as one item beside the accounts, out of the shard index, never over a newer one', () => {
    const req = putBookQuality('accounts', quality);
    expect(req.Item).toMatchObject({ pk: 'BOOK', sk: 'QUALITY', at: '2027-01-04T09:00:00.000Z', score: 100 });
    expect(req.Item).not.toHaveProperty('gsi1pk');
    expect(req.ConditionExpression).toBe('attribute_not_exists(pk) OR #at <= :at');
    expect(req.ExpressionAttributeValues).toEqual({ ':at': '2027-01-04T09:00:00.000Z' });
  });

  it('reads it with one strongly consistent GetItem', () => {
    expect(getBookQuality('accounts')).toEqual({ TableName: 'accounts', Key: bookQualityKey, ConsistentRead: true });
  });
});

/** The signal ledger's and the replay guard's DynamoDB requests, built without I/O. */
import { describe, expect, it } from 'vitest';
import { getSignalClaim, putReplayRecord, putSignalClaim, signalClaimKey, signalContentDigest } from '../../shared/adapters/dynamodb/signal-ledger.ts';
import { aSignal } from './builders.ts';

describe('signal ledger requests', () => {
  it('claims a signal id once per account, next to the account\'s signals but outside every range they are queried by', () => {
    const signal = aSignal({ id: 'sig-1', accountId: 'acc-1', kind: 'web_visit', at: '2027-01-04T15:00:00+01:00' });
    const put = putSignalClaim('amk-accounts', signal, '2027-01-04T14:05:00.000Z');
    expect(put).toEqual({
      TableName: 'amk-accounts',
      Item: { pk: 'ACCOUNT#acc-1', sk: 'SIGNALID#sig-1', digest: signalContentDigest(signal), at: '2027-01-04T14:00:00.000Z', kind: 'web_visit', claimedAt: '2027-01-04T14:05:00.000Z' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // Signals are queried as begins_with SIGNAL# or between SIGNAL#<t>$ and SIGNAL$; contacts as CONTACT#.
    const sk = signalClaimKey('acc-1', 'sig-1').sk;
    expect(sk.startsWith('SIGNAL#') || sk.startsWith('CONTACT#')).toBe(false);
    expect(sk > 'SIGNAL$').toBe(true);
    expect(getSignalClaim('amk-accounts', 'acc-1', 'sig-1')).toMatchObject({ Key: { pk: 'ACCOUNT#acc-1', sk: 'SIGNALID#sig-1' }, ConsistentRead: true });
  });

  it('gives one signal one digest whatever zone its time was written in, and another signal under the id another', () => {
    const a = aSignal({ id: 's', kind: 'open', at: '2027-01-04T14:00:00Z' });
    expect(signalContentDigest(a)).toBe(signalContentDigest({ ...a, at: '2027-01-04T15:00:00.000+01:00' }));
    expect(signalContentDigest(a)).not.toBe(signalContentDigest({ ...a, at: '2027-01-04T14:00:01Z' }));
    expect(signalContentDigest(a)).not.toBe(signalContentDigest({ ...a, kind: 'click' }));
  });
});

describe('replay guard requests', () => {
  it('records a request until its expiry (TTL seconds), and lets an expired record be taken again', () => {
    const put = putReplayRecord('amk-idempotency', 'signals-request#abc', '2027-01-04T14:10:00.000Z', Date.parse('2027-01-04T14:00:00.000Z'));
    expect(put).toEqual({
      TableName: 'amk-idempotency',
      Item: { id: 'signals-request#abc', expiration: Date.parse('2027-01-04T14:10:00.000Z') / 1000, status: 'SIGNALS_REQUEST' },
      ConditionExpression: 'attribute_not_exists(id) OR #expiration < :now',
      ExpressionAttributeNames: { '#expiration': 'expiration' },
      ExpressionAttributeValues: { ':now': Date.parse('2027-01-04T14:00:00.000Z') / 1000 },
    });
    expect(() => putReplayRecord('t', 'k', 'soon', 0)).toThrow(/not an ISO time/);
  });
});

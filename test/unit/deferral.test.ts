/**
 * Deferred sends, pure: which actions wait, in which send slot, and the runs-table requests that
 * store and list them (keys and conditions, no I/O).
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/domain/errors.ts';
import { SEND_SLOT_MS, isDeferred, sendSlotOf } from '../../shared/domain/deferral.ts';
import { deferredSendKey, putDeferredSend, putSendSlot, queryDeferredSends, querySendSlots, slotFromKey } from '../../shared/adapters/dynamodb/requests.ts';
import { anAction } from './builders.ts';

const NOW = '2027-01-04T14:00:00.000Z';

describe('which actions wait, and for which slot', () => {
  it('defers an action whose notBefore is later than the run\'s clock, and only that one', () => {
    expect(isDeferred(anAction({ notBefore: '2027-01-04T20:00:00.000Z' }), NOW)).toBe(true);
    expect(isDeferred(anAction({ notBefore: NOW }), NOW)).toBe(false);
    expect(isDeferred(anAction({ notBefore: '2027-01-04T13:00:00.000Z' }), NOW)).toBe(false);
    expect(isDeferred(anAction(), NOW)).toBe(false);
  });

  it('puts an action in the quarter hour at or after its notBefore, never before it', () => {
    expect(SEND_SLOT_MS).toBe(15 * 60_000);
    expect(sendSlotOf(anAction({ notBefore: '2027-01-04T20:00:00.000Z' }))).toBe('2027-01-04T20:00:00.000Z');
    expect(sendSlotOf(anAction({ notBefore: '2027-01-04T20:00:00.001Z' }))).toBe('2027-01-04T20:15:00.000Z');
    // An offset is normalized to UTC.
    expect(sendSlotOf(anAction({ notBefore: '2027-01-05T07:05:00+11:00' }))).toBe('2027-01-04T20:15:00.000Z');
    expect(() => sendSlotOf(anAction())).toThrow(/no send time/);
  });
});

describe('deferred send requests on the runs table', () => {
  const action = anAction({ id: 'act-9', notBefore: '2027-01-04T20:00:00.000Z' });
  const send = { runId: 'run-1', shard: 3, slot: '2027-01-04T20:00:00.000Z', runNow: NOW, action, charterHash: 'h' };

  it('stores each action once under its run, shard and slot, and each slot once', () => {
    expect(deferredSendKey(send)).toEqual({ pk: 'RUN#run-1', sk: 'SEND#0003#2027-01-04T20:00:00.000Z#act-9' });
    expect(putDeferredSend('runs', send)).toEqual({
      TableName: 'runs',
      Item: { pk: 'RUN#run-1', sk: 'SEND#0003#2027-01-04T20:00:00.000Z#act-9', ...send },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // A slot given in whole seconds is the same slot.
    expect(putSendSlot('runs', 'run-1', 3, '2027-01-04T20:00:00Z')).toEqual({
      TableName: 'runs',
      Item: { pk: 'RUN#run-1', sk: 'SLOT#0003#2027-01-04T20:00:00.000Z', runId: 'run-1', shard: 3, slot: '2027-01-04T20:00:00.000Z' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('lists a shard\'s slots by their keys alone, and a slot\'s actions a page at a time, strongly consistent', () => {
    expect(querySendSlots('runs', 'run-1', 3)).toEqual({
      TableName: 'runs',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
      ExpressionAttributeValues: { ':pk': 'RUN#run-1', ':slot': 'SLOT#0003#' },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    });
    expect(slotFromKey('SLOT#0003#2027-01-04T20:00:00.000Z')).toBe('2027-01-04T20:00:00.000Z');
    expect(() => slotFromKey('SEND#0003#x#y')).toThrow(InvalidInputError);
    expect(queryDeferredSends('runs', 'run-1', 3, '2027-01-04T20:00:00Z', 25, { pk: 'RUN#run-1', sk: 'SEND#0003#2027-01-04T20:00:00.000Z#act-1' })).toEqual({
      TableName: 'runs',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :send)',
      ExpressionAttributeValues: { ':pk': 'RUN#run-1', ':send': 'SEND#0003#2027-01-04T20:00:00.000Z#' },
      Limit: 25,
      ConsistentRead: true,
      ExclusiveStartKey: { pk: 'RUN#run-1', sk: 'SEND#0003#2027-01-04T20:00:00.000Z#act-1' },
    });
    expect(() => queryDeferredSends('runs', 'run-1', 3, 'not a time', 25)).toThrow(InvalidInputError);
    expect(() => querySendSlots('runs', 'run-1', -1)).toThrow(InvalidInputError);
  });
});

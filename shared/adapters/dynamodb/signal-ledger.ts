/**
 * The signal ledger on the accounts table: one claim item per (account, signal id), next to the
 * account's signals, written once with a conditional PutItem (first write wins, forever).
 *
 * Access pattern: claim `PutItem pk=ACCOUNT#id sk=SIGNALID#<signal id>` with
 * `attribute_not_exists(pk)`; on a failed condition, `GetItem` (strongly consistent) of the claim
 * to tell a repeat (same content digest) from a conflict. `SIGNALID#` sorts outside every range
 * the accounts table is queried by (`CONTACT#`, and `SIGNAL#...` up to `SIGNAL$`), so claims never
 * show up as stakeholders or signals.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient, type GetCommandInput, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableCall } from './access.ts';
import { documentClient, isConditionalCheckFailed } from './client.ts';
import { accountPk, type PrimaryKey } from './requests.ts';
import { canonicalJson } from '../../domain/canonical-json.ts';
import { sha256 } from '../../domain/digest.ts';
import type { PipelineSignal } from '../../domain/model.ts';
import { canonicalSignal } from '../../domain/signals-batch.ts';
import type { ReplayGuard, SignalClaims, SignalLedger } from '../../ports/signal-ledger.ts';

/** The ledger's calls on the accounts table (its grant: exactly these). */
export const SIGNAL_LEDGER_CALLS: readonly TableCall[] = [{ action: 'PutItem' }, { action: 'GetItem' }];

/** Key of a signal's claim item. */
export const signalClaimKey = (accountId: string, signalId: string): PrimaryKey => ({ pk: accountPk(accountId), sk: `SIGNALID#${signalId}` });

/** The content digest a claim holds: sha256 of the signal's canonical form. */
export const signalContentDigest = (signal: PipelineSignal): string => sha256(canonicalJson(canonicalSignal(signal)));

/** PutItem claiming a signal's id for its content, only if no claim exists. */
export function putSignalClaim(table: string, signal: PipelineSignal, claimedAt: string): PutCommandInput {
  return {
    TableName: table,
    Item: { ...signalClaimKey(signal.accountId, signal.id), digest: signalContentDigest(signal), at: canonicalSignal(signal).at, kind: signal.kind, claimedAt },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** GetItem of a claim (strongly consistent: the claim that won is the one compared). */
export function getSignalClaim(table: string, accountId: string, signalId: string): GetCommandInput {
  return { TableName: table, Key: signalClaimKey(accountId, signalId), ConsistentRead: true, ProjectionExpression: '#digest', ExpressionAttributeNames: { '#digest': 'digest' } };
}

/** Claims in flight at once (dynalite serves ~1,000 ops/s with 16; DynamoDB scales past it). */
const CLAIM_CONCURRENCY = 16;

/** The ledger in DynamoDB (see the module comment for the access pattern). */
export class DynamoSignalLedger implements SignalLedger {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {
    this.doc = documentClient(client);
  }

  /** Claims each signal once; see SignalLedger.claim. */
  async claim(signals: readonly PipelineSignal[]): Promise<SignalClaims> {
    const outcome = new Array<'fresh' | 'repeated' | 'conflict'>(signals.length);
    const claimedAt = this.clock();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < signals.length) {
        const i = next++;
        outcome[i] = await this.claimOne(signals[i] as PipelineSignal, claimedAt);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CLAIM_CONCURRENCY, signals.length) }, worker));
    const pick = (o: 'fresh' | 'repeated' | 'conflict') => signals.filter((_, i) => outcome[i] === o);
    return { fresh: pick('fresh'), repeated: pick('repeated'), conflicts: pick('conflict') };
  }

  private async claimOne(signal: PipelineSignal, claimedAt: string): Promise<'fresh' | 'repeated' | 'conflict'> {
    try {
      await this.doc.send(new PutCommand(putSignalClaim(this.table, signal, claimedAt)));
      return 'fresh';
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    const out = await this.doc.send(new GetCommand(getSignalClaim(this.table, signal.accountId, signal.id)));
    return out.Item?.['digest'] === signalContentDigest(signal) ? 'repeated' : 'conflict';
  }
}

/** The replay guard's calls on the idempotency table (its grant: exactly this). */
export const REPLAY_GUARD_CALLS: readonly TableCall[] = [{ action: 'PutItem' }];

/**
 * PutItem recording a signed request until `expiresAt`: only if it is not recorded, or its record
 * has expired (DynamoDB's TTL deletes expired items within days, and dynalite never: the
 * condition, not the deletion, decides). Keys live beside Powertools' own records (`amk#<hash>`)
 * in the idempotency table, under their own prefix, with its TTL attribute.
 */
export function putReplayRecord(table: string, key: string, expiresAt: string, nowMs: number): PutCommandInput {
  const expiration = Math.ceil(Date.parse(expiresAt) / 1000);
  if (!Number.isFinite(expiration)) throw new Error(`replay record ${key}: expiresAt "${expiresAt}" is not an ISO time`);
  return {
    TableName: table,
    Item: { id: key, expiration, status: 'SIGNALS_REQUEST' },
    ConditionExpression: 'attribute_not_exists(id) OR #expiration < :now',
    ExpressionAttributeNames: { '#expiration': 'expiration' },
    ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
  };
}

/** The replay guard in the idempotency table. */
export class DynamoReplayGuard implements ReplayGuard {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
    private readonly clock: () => string = () => new Date().toISOString(),
  ) {
    this.doc = documentClient(client);
  }

  /** Records the request once; false for a request recorded before and not expired. */
  async firstSeen(key: string, expiresAt: string): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(putReplayRecord(this.table, key, expiresAt, Date.parse(this.clock()))));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}

/**
 * The signal ledger: which signal ids have been stored, and with what content. A port of its own
 * (not an AccountRepository method) while that interface is being reworked; it can move there.
 */
import type { PipelineSignal } from '../domain/model.ts';

/** What claiming a batch came to, per signal. */
export interface SignalClaims {
  /** Signals whose id was new: claimed now for their content. */
  readonly fresh: PipelineSignal[];
  /** Signals whose id was claimed before for the very same content (a repeat: stored once). */
  readonly repeated: PipelineSignal[];
  /** Signals whose id was claimed before for other content: the first one stands, these are dropped. */
  readonly conflicts: PipelineSignal[];
}

/** Claims each signal's (account, id) once, first write wins, forever. */
export interface SignalLedger {
  /**
   * Claims every signal's id for its content (a conditional write per signal). A repeat of the
   * same content is reported as such (storing it again changes nothing, and heals a crash
   * between claim and store); different content under a claimed id is a conflict.
   */
  claim(signals: readonly PipelineSignal[]): Promise<SignalClaims>;
}

/**
 * Remembers each verified signed request until it could no longer pass the freshness check, so
 * it is accepted once (one conditional write per request; the record expires by TTL).
 */
export interface ReplayGuard {
  /** Records `key` until `expiresAt` (ISO); false when it is recorded already and has not expired. */
  firstSeen(key: string, expiresAt: string): Promise<boolean>;
}

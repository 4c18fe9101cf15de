/**
 * Named domain errors. Step Functions `Catch` matches on `error.name`, so the CDK definition
 * imports these names as constants instead of retyping strings.
 */

/** Stable error names, shared by the code that throws and the definition that catches. */
export const ErrorName = {
  InvalidConfig: 'InvalidConfigError',
  InvalidInput: 'InvalidInputError',
  StaleAccountState: 'StaleAccountStateError',
  ToolFailed: 'ToolFailedError',
  ToolRejected: 'ToolRejectedError',
  ApprovalAlreadyDecided: 'ApprovalAlreadyDecidedError',
  ApprovalNotFound: 'ApprovalNotFoundError',
  AgentPaused: 'AgentPausedError',
  TaskNotWaiting: 'TaskNotWaitingError',
  SideEffectInProgress: 'SideEffectInProgressError',
  BlockedAtSend: 'BlockedAtSendError',
  ServiceUnavailable: 'ServiceUnavailableError',
  SignalSignature: 'SignalSignatureError',
  StaleSignal: 'StaleSignalError',
  SignalReplay: 'SignalReplayError',
  SignalSchema: 'SignalSchemaError',
  DataQualityGate: 'DataQualityGateError',
} as const;
export type ErrorName = (typeof ErrorName)[keyof typeof ErrorName];

/** Base class: a stable name, a machine code, and the cause kept. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A charter, campaign, guardrails or CSV file is invalid; names the file and path. */
export class InvalidConfigError extends DomainError {
  override readonly name = ErrorName.InvalidConfig;
  readonly code = 'INVALID_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: ReadonlyArray<{ path: string; message: string }>,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`, options);
  }
}

/** A Lambda or HTTP input did not match its schema. */
export class InvalidInputError extends DomainError {
  override readonly name = ErrorName.InvalidInput;
  readonly code = 'INVALID_INPUT';
}

/** Someone else wrote the account state first (optimistic lock); retryable. */
export class StaleAccountStateError extends DomainError {
  override readonly name = ErrorName.StaleAccountState;
  readonly code = 'STALE_ACCOUNT_STATE';
}

/** A tool call failed in a way worth retrying (timeouts, 5xx). */
export class ToolFailedError extends DomainError {
  override readonly name = ErrorName.ToolFailed;
  readonly code = 'TOOL_FAILED';
}

/** A tool refused the call for good (bad address, unknown audience); not retried. */
export class ToolRejectedError extends DomainError {
  override readonly name = ErrorName.ToolRejected;
  readonly code = 'TOOL_REJECTED';
}

/** An approval was already decided or expired; a second decision changes nothing. */
export class ApprovalAlreadyDecidedError extends DomainError {
  override readonly name = ErrorName.ApprovalAlreadyDecided;
  readonly code = 'APPROVAL_ALREADY_DECIDED';
}

/** No approval with that id. */
export class ApprovalNotFoundError extends DomainError {
  override readonly name = ErrorName.ApprovalNotFound;
  readonly code = 'APPROVAL_NOT_FOUND';
}

/** The agent's charter is paused: it plans nothing. */
export class AgentPausedError extends DomainError {
  override readonly name = ErrorName.AgentPaused;
  readonly code = 'AGENT_PAUSED';
}

/** The workflow task a callback was meant for no longer waits (completed, timed out or unknown). */
export class TaskNotWaitingError extends DomainError {
  override readonly name = ErrorName.TaskNotWaiting;
  readonly code = 'TASK_NOT_WAITING';
  constructor(
    message: string,
    /** The vendor's name for it, kept for the audit trail. */
    readonly vendorName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The same side effect is being applied right now by another invocation; retryable. */
export class SideEffectInProgressError extends DomainError {
  override readonly name = ErrorName.SideEffectInProgress;
  readonly code = 'SIDE_EFFECT_IN_PROGRESS';
}

/** A guardrail that changed while the action waited for approval now blocks it (not retried). */
export class BlockedAtSendError extends DomainError {
  override readonly name = ErrorName.BlockedAtSend;
  readonly code = 'BLOCKED_AT_SEND';
  constructor(
    /** The guardrail id (consent, suppression, quiet_hours, ...). */
    readonly guardrail: string,
    readonly reason: string,
  ) {
    super(`blocked at send by ${guardrail}: ${reason}`);
  }
}

/** A dependency was busy or briefly unavailable past the SDK's own retries; retry later. */
export class ServiceUnavailableError extends DomainError {
  override readonly name = ErrorName.ServiceUnavailable;
  readonly code = 'SERVICE_UNAVAILABLE';
}

/** A signed signal request whose signature is missing, malformed or wrong (not retried: sign it right). */
export class SignalSignatureError extends DomainError {
  override readonly name = ErrorName.SignalSignature;
  readonly code = 'SIGNAL_SIGNATURE';
}

/** A signed signal request whose timestamp is outside the tolerance window (sign it again, now). */
export class StaleSignalError extends DomainError {
  override readonly name = ErrorName.StaleSignal;
  readonly code = 'STALE_SIGNAL';
}

/** A signed signal request seen before (the same signature): already accepted, or being processed. */
export class SignalReplayError extends DomainError {
  override readonly name = ErrorName.SignalReplay;
  readonly code = 'SIGNAL_REPLAY';
}

/** A batch of signals (or one signal) that does not match its schema; nothing of it was stored. */
export class SignalSchemaError extends DomainError {
  override readonly name = ErrorName.SignalSchema;
  readonly code = 'SIGNAL_SCHEMA';
  constructor(
    message: string,
    /** Each problem: where (`signals.3.kind`), what was there, and what was expected. */
    readonly issues: ReadonlyArray<{ readonly path: string; readonly value: string; readonly expected: string }>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The book does not meet the campaign's data-quality thresholds: the run does not start (not retried). */
export class DataQualityGateError extends DomainError {
  override readonly name = ErrorName.DataQualityGate;
  readonly code = 'DATA_QUALITY_GATE';
  constructor(
    /** What to fix, one finding per threshold not met. */
    readonly findings: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`the book does not meet the campaign's data-quality gate: ${findings.join(' ')}`, options);
  }
}

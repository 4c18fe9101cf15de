/**
 * The ToolGateway port over the simulated market: every tool (email, CRM task, ad audience, content
 * recommendation, webhook) lands in the same world, which answers on its next tick.
 */
import { ToolFailedError } from '../../shared/domain/errors.ts';
import type { Action, Stakeholder } from '../../shared/domain/model.ts';
import type { ToolGateway, ToolResult } from '../../shared/ports/index.ts';
import type { Market } from './market.ts';

/** Options of SimulatedToolGateway. */
export interface SimulatedToolGatewayOptions {
  /** Transient failures to inject, so tests can show a retried step never sends twice. */
  readonly faults?: {
    /** 1-based call numbers that throw ToolFailedError before anything reaches the market. */
    readonly failOnCall?: readonly number[];
  };
}

/** A ToolGateway that executes actions against the simulated market at the injected clock's time. */
export class SimulatedToolGateway implements ToolGateway {
  private calls = 0;
  private readonly failOn: ReadonlySet<number>;

  constructor(
    private readonly market: Market,
    private readonly clock: () => string,
    options: SimulatedToolGatewayOptions = {},
  ) {
    const failOn = options.faults?.failOnCall ?? [];
    const bad = failOn.filter((n) => !Number.isInteger(n) || n < 1);
    if (bad.length > 0) throw new RangeError(`faults.failOnCall: call numbers are 1-based integers, got ${bad.join(', ')}`);
    this.failOn = new Set(failOn);
  }

  /** Forwards the action to the market; an injected fault fails the call before it is applied (nothing is sent). */
  async execute(action: Action, stakeholders: Stakeholder[]): Promise<ToolResult> {
    this.calls += 1;
    if (this.failOn.has(this.calls)) {
      throw new ToolFailedError(`simulated transient failure of ${action.tool} on call ${this.calls} (action ${action.id})`);
    }
    return this.market.apply(action, stakeholders, this.clock());
  }

  /** How many times execute() was called, failed calls included. */
  callCount(): number {
    return this.calls;
  }
}

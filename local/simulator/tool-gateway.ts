/**
 * The ToolGateway port over the simulated market: the world behind the deployed connectors. A call
 * first goes through the connectors exactly as in AWS (email: SES, with the function's IAM check,
 * written as an .eml), so what the connectors refuse is refused here too; what they deliver then
 * lands in the market, which answers on its next tick. Without connectors (unit tests of the
 * market) every tool lands in the market directly.
 */
import { ToolFailedError } from '../../shared/domain/errors.ts';
import type { Action, Stakeholder } from '../../shared/domain/model.ts';
import type { ToolAccount, ToolGateway, ToolResult } from '../../shared/ports/index.ts';
import type { Market } from './market.ts';

/** Options of SimulatedToolGateway. */
export interface SimulatedToolGatewayOptions {
  /** Transient failures to inject, so tests can show a retried step never sends twice. */
  readonly faults?: {
    /** 1-based call numbers that throw ToolFailedError before anything reaches the market. */
    readonly failOnCall?: readonly number[];
  };
  /** The deployed connectors a call goes through before it reaches the market. @default none */
  readonly connectors?: ToolGateway;
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
    this.connectors = options.connectors;
  }

  private readonly connectors: ToolGateway | undefined;

  /**
   * The same world, reached through one function's connectors (each function has its own clients);
   * `failOnCall` are 1-based numbers of that function's own calls that fail once, transiently.
   */
  through(connectors: ToolGateway, failOnCall: readonly number[] = []): ToolGateway {
    let calls = 0;
    const failOn = new Set(failOnCall);
    return {
      execute: async (action, stakeholders, account) => {
        calls += 1;
        if (failOn.has(calls)) throw new ToolFailedError(`simulated transient failure of ${action.tool} on this function's call ${calls} (action ${action.id})`);
        return this.executeVia(connectors, action, stakeholders, account);
      },
    };
  }

  /** Forwards the action to the market; an injected fault fails the call before it is applied (nothing is sent). */
  async execute(action: Action, stakeholders: Stakeholder[], account: ToolAccount = { id: action.accountId, name: action.accountId }): Promise<ToolResult> {
    return this.executeVia(this.connectors, action, stakeholders, account);
  }

  private async executeVia(connectors: ToolGateway | undefined, action: Action, stakeholders: Stakeholder[], account: ToolAccount): Promise<ToolResult> {
    this.calls += 1;
    if (this.failOn.has(this.calls)) {
      throw new ToolFailedError(`simulated transient failure of ${action.tool} on call ${this.calls} (action ${action.id})`);
    }
    if (connectors !== undefined) await connectors.execute(action, stakeholders, account);
    return this.market.apply(action, stakeholders, this.clock());
  }

  /** How many times execute() was called, failed calls included. */
  callCount(): number {
    return this.calls;
  }
}

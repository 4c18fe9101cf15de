/**
 * The campaigns a run may load: the `campaigns.json` that `cdk synth` validated and bundled into
 * the functions that read configuration (in AWS and on the embedded default alike). No YAML
 * parser here: the bundles stay small, and what runs is what synth validated.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { CampaignBundle } from '../domain/config.ts';
import { InvalidConfigError } from '../domain/errors.ts';
import type { ConfigSource } from '../ports/index.ts';

/** Serves a fixed set of already-validated bundles by campaign id. */
export class StaticConfigSource implements ConfigSource {
  private readonly byId: Map<string, CampaignBundle>;
  constructor(bundles: CampaignBundle[]) {
    this.byId = new Map(bundles.map((b) => [b.campaign.id, b]));
  }
  /** Loads the bundled `campaigns.json` written at synth (validated again on read). */
  static fromJsonFile(file: string): StaticConfigSource {
    const parsed = z.array(CampaignBundle).safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new InvalidConfigError(file, parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    return new StaticConfigSource(parsed.data);
  }
  /** The ids of the campaigns it serves. */
  ids(): string[] {
    return [...this.byId.keys()];
  }
  /** One campaign, or undefined. */
  get(campaignId: string): CampaignBundle | undefined {
    return this.byId.get(campaignId);
  }
  async load(campaignId: string): Promise<CampaignBundle> {
    const bundle = this.byId.get(campaignId);
    if (!bundle) throw new InvalidConfigError('campaigns', [{ path: campaignId, message: `unknown campaign (known: ${[...this.byId.keys()].join(', ') || 'none'})` }]);
    return bundle;
  }
}

/**
 * Config sources: the campaigns a run may load. In AWS the functions read the `campaigns.json`
 * that `cdk synth` validated and bundled; locally the YAML files are read directly.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CampaignBundle } from '../domain/config.ts';
import { InvalidConfigError } from '../domain/errors.ts';
import type { ConfigSource } from '../ports/index.ts';
import { loadCampaignBundle } from '../config/load.ts';

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
  async load(campaignId: string): Promise<CampaignBundle> {
    const bundle = this.byId.get(campaignId);
    if (!bundle) throw new InvalidConfigError('campaigns', [{ path: campaignId, message: `unknown campaign (known: ${[...this.byId.keys()].join(', ') || 'none'})` }]);
    return bundle;
  }
}

/** Reads a campaign's YAML files once, validating them (the embedded default). */
export class YamlConfigSource extends StaticConfigSource {
  constructor(campaignFiles: string[]) {
    super(campaignFiles.map((f) => loadCampaignBundle(f)));
  }
}

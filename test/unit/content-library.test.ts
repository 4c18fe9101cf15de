/**
 * The content library: its file is checked where it is written (merge fields, claims, assets),
 * the planner words an email from the template that fits it best, the email renders from that
 * template with its merge fields escaped, and a template changed after planning is not sent.
 */
import { describe, expect, it } from 'vitest';
import { ConnectorToolGateway } from '../../shared/adapters/email-connector.ts';
import { parseYamlText } from '../../shared/config/load.ts';
import { ContentLibrary, pickTemplate } from '../../shared/domain/content.ts';
import { InvalidConfigError, ToolRejectedError } from '../../shared/domain/errors.ts';
import { proposeActions, type PlannerInput } from '../../shared/domain/planner.ts';
import { emailPreview, renderProspectEmail } from '../../shared/domain/prospect-email.ts';
import type { OutgoingEmail } from '../../shared/ports/index.ts';
import { NOW, aCampaign, aCharter, aModel, aStakeholder, anAccount, anAction, anObservedAccount } from './builders.ts';

const LIBRARY = `
id: test-content
claims:
  - { id: soc2, statement: We are SOC 2 Type II certified., source: SOC 2 report 2026 }
assets:
  - { id: security, title: Security overview, url: "https://example.com/security", claims: [soc2] }
templates:
  - id: any-nurture
    actions: [nurture_email]
    subject: "Ideas for {{account}}"
    body: "Hello {{first_name}},\\n\\nA general note."
  - id: champion-nurture
    actions: [nurture_email]
    roles: [champion]
    subject: "For {{first_name}} at {{account}}"
    body: "Hello {{first_name}},\\n\\nA note for champions."
  - id: security-objection
    actions: [objection_response]
    topics: [Data Privacy, security]
    asset: security
    subject: "Security at {{account}}"
    body: "Hello {{first_name}},\\n\\nRead {{asset_title}}: {{asset_url}}"
`;
const library = (text = LIBRARY): ContentLibrary => parseYamlText('content.yaml', text, ContentLibrary).value;

const messages = (text: string): string[] => {
  try {
    library(text);
  } catch (err) {
    if (err instanceof InvalidConfigError) return err.problems.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
};

describe('a content library file', () => {
  it('is refused, naming the field and its line, for an unknown merge field, an undeclared claim, a missing asset and a type that sends no email', () => {
    const bad = `
id: bad
templates:
  - id: t1
    actions: [nurture_email]
    claims: [fastest]
    subject: "Hi {{firstname}}"
    body: "x"
  - id: t2
    actions: [sales_handoff]
    asset: nowhere
    subject: "s"
    body: "{{asset_url}}"
`;
    const found = messages(bad);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^templates\.0\.subject \(line 7\): unknown merge field \{\{firstname\}\}; expected one of \{\{first_name\}\}/),
        expect.stringMatching(/^templates\.0\.claims\.0 \(line 6\): claim "fastest" is not declared/),
        expect.stringMatching(/^templates\.1\.actions\.0 \(line 10\): "sales_handoff" sends no email/),
        expect.stringMatching(/^templates\.1\.asset \(line 11\): asset "nowhere" is not in assets/),
      ]),
    );
    expect(messages(LIBRARY)).toEqual([]);
  });

  it('refuses an asset link that is not https', () => {
    expect(messages(LIBRARY.replace('https://example.com/security', 'http://example.com/security')).join('\n')).toMatch(/assets\.0\.url.*https/);
  });
});

describe('picking a template', () => {
  const lib = library();
  it('takes the most specific that fits, ties to the one listed first, and a topic however the CRM spells it', () => {
    expect(pickTemplate(lib, { type: 'nurture_email', role: 'champion', stage: 'problem_aware' })?.templateId).toBe('champion-nurture');
    expect(pickTemplate(lib, { type: 'nurture_email', role: 'blocker', stage: 'problem_aware' })?.templateId).toBe('any-nurture');
    expect(pickTemplate(lib, { type: 'objection_response', role: 'blocker', stage: 'evaluating', topic: 'data privacy' })?.templateId).toBe('security-objection');
    expect(pickTemplate(lib, { type: 'objection_response', role: 'blocker', stage: 'evaluating', topic: 'pricing' })).toBeUndefined();
    expect(pickTemplate(lib, { type: 'executive_briefing', role: 'economic_buyer', stage: 'evaluating' })).toBeUndefined();
  });
});

describe('the planner with a content library', () => {
  const committee = [aStakeholder({ id: 'ch', name: 'Chris Champion', role: 'champion' }), aStakeholder({ id: 'bl', name: 'Blair Blocker', role: 'blocker' })];
  const input = (content: ContentLibrary): PlannerInput => ({
    observed: anObservedAccount({ state: anAccount({ objections: ['security'] }), stakeholders: committee }),
    charter: aCharter({ allowedActions: ['nurture_email', 'objection_response'] }),
    campaign: aCampaign(),
    model: aModel(),
    runId: 'run-1',
    now: NOW,
    seed: 'seed-1',
    content,
  });

  it('words each email action from its template, the subject rendered for the person', () => {
    const proposals = proposeActions(input(library())).proposals.map((p) => p.action);
    const nurture = proposals.find((a) => a.type === 'nurture_email' && a.stakeholderIds[0] === 'ch');
    expect(nurture?.content.template?.templateId).toBe('champion-nurture');
    expect(nurture?.content.subject).toBe('For Chris at Acme');
    const objection = proposals.find((a) => a.type === 'objection_response');
    expect(objection?.content.template).toMatchObject({ templateId: 'security-objection', assetId: 'security' });
  });

  it('proposes no email the library cannot word when it allows no fallback, and the built-in copy when it does', () => {
    const noNurture = library(LIBRARY.replace(/  - id: any-nurture[\s\S]*?(?=  - id: champion-nurture)/, ''));
    const strict = { ...noNurture, fallback: 'none' as const };
    const typesFor = (lib: ContentLibrary, who: string) =>
      proposeActions(input(lib))
        .proposals.filter((p) => p.action.stakeholderIds[0] === who)
        .map((p) => p.action.type);
    expect(typesFor(strict, 'bl')).not.toContain('nurture_email');
    const builtIn = proposeActions(input(noNurture)).proposals.find((p) => p.action.type === 'nurture_email' && p.action.stakeholderIds[0] === 'bl');
    expect(builtIn?.action.content.template).toBeUndefined();
  });
});

describe('rendering and sending from a template', () => {
  const lib = library();
  const choice = pickTemplate(lib, { type: 'objection_response', role: 'blocker', stage: 'evaluating', topic: 'security' });
  const action = anAction({ type: 'objection_response', content: { topic: 'Objection: security (CRM: "they hate us")', ...(choice ? { template: choice } : {}) } });
  const hostile = 'Acme <script>x</script>';

  it('escapes merge fields in the HTML, links the asset, and lists the claims it makes', () => {
    const email = renderProspectEmail(action, aStakeholder({ name: '<b>Eve</b> Evil', role: 'blocker' }), hostile, lib);
    if ('refused' in email) throw new Error(email.refused);
    expect(email.subject).toBe('Security at Acme <script>x</script>');
    expect(email.html).toContain('&lt;b&gt;Eve&lt;/b&gt;');
    expect(email.html).not.toContain('<b>Eve');
    expect(email.text).toContain('Read Security overview: https://example.com/security');
    expect(email.claims.map((c) => c.id)).toEqual(['soc2']);
    expect(`${email.text}${email.html}`).not.toContain('they hate us');
  });

  it('previews for the approver exactly what the send renders', async () => {
    const people = [aStakeholder({ id: 'st-1', name: 'Blair Blocker', role: 'blocker' })];
    const preview = emailPreview(action, people, 'Acme', lib);
    const sent: OutgoingEmail[] = [];
    const gateway = new ConnectorToolGateway(
      { send: async (e) => (sent.push(e), { messageId: 'm-1' }) },
      { from: 'a@corp.example', name: 'Corp', postalAddress: '1 Corp Way', unsubscribeBaseUrl: 'https://approvals.example', linkKey: Buffer.alloc(32, 1) },
    );
    await gateway.execute(action, people, { id: 'acc-1', name: 'Acme', library: lib });
    expect(preview?.subject).toBe(sent[0]?.subject);
    expect(sent[0]?.text.startsWith(preview?.text ?? '?')).toBe(true);
    expect(preview?.claims).toEqual([{ statement: 'We are SOC 2 Type II certified.', source: 'SOC 2 report 2026' }]);
  });

  it('refuses to send a template a deploy changed after the action was planned (or approved)', async () => {
    const changed = library(LIBRARY.replace('Read {{asset_title}}', 'Now read {{asset_title}}'));
    const gateway = new ConnectorToolGateway(
      { send: async () => ({ messageId: 'm' }) },
      { from: 'a@corp.example', name: 'Corp', postalAddress: '1 Corp Way', unsubscribeBaseUrl: 'https://approvals.example', linkKey: Buffer.alloc(32, 1) },
    );
    await expect(gateway.execute(action, [aStakeholder()], { id: 'acc-1', name: 'Acme', library: changed })).rejects.toThrow(ToolRejectedError);
    await expect(gateway.execute(action, [aStakeholder()], { id: 'acc-1', name: 'Acme', library: changed })).rejects.toThrow(/changed since the action was planned/);
    await expect(gateway.execute(action, [aStakeholder()], { id: 'acc-1', name: 'Acme' })).rejects.toThrow(/no longer in the content library/);
  });
});

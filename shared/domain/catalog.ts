/**
 * The fixed catalog of action types: which tool and channel each uses, what it costs, which
 * committee roles and sub-goals it serves, and how its content is worded. Governance checks that an
 * action's tool and channel match its type here, so a proposal cannot dodge contact pressure by
 * mislabelling its channel.
 */
import type { ActionType, Channel, CommitteeRole, SubGoalKind, Tool } from './model.ts';

/** What one action type is and does. */
export interface ActionSpec {
  readonly tool: Tool;
  readonly channel: Channel;
  readonly costUsd: number;
  /** Committee roles this action is suitable for. */
  readonly suits: readonly CommitteeRole[];
  /** Sub-goals this action can serve. */
  readonly subGoals: readonly SubGoalKind[];
  /** The content topic for a stakeholder of this role. */
  readonly topic: (role: CommitteeRole) => string;
  /** The email subject line, for actions that send an email. */
  readonly subject?: (role: CommitteeRole, accountName: string) => string;
  /** True for offers that lower the buyer's perceived risk (references, pilots). */
  readonly deRisking: boolean;
  /** True for content that is the same for every reader whatever their role (a newsletter). */
  readonly generic?: boolean;
}

const ALL_ROLES: readonly CommitteeRole[] = [
  'economic_buyer',
  'champion',
  'technical_evaluator',
  'end_user',
  'blocker',
  'influencer',
];

/** What each role cares about, so content speaks to the reader's concerns. */
const CONCERN: Record<CommitteeRole, string> = {
  economic_buyer: 'business case and return on investment',
  champion: 'building the internal case for change',
  technical_evaluator: 'architecture, integration and security',
  end_user: 'day-to-day workflow and productivity',
  blocker: 'risk, compliance and procurement',
  influencer: 'industry trends and peer practices',
};

/** Human label of a role ("economic buyer"). */
export const roleLabel = (role: CommitteeRole): string => role.replace(/_/g, ' ');

/** Every action type the planner can propose, with its tool, channel, cost and audience. */
export const ACTION_CATALOG: Readonly<Record<ActionType, ActionSpec>> = {
  nurture_email: {
    tool: 'email',
    channel: 'email',
    costUsd: 0,
    suits: ALL_ROLES,
    subGoals: ['educate_role', 'cover_role'],
    topic: (role) => `Nurture: ${CONCERN[role]}`,
    subject: (role, accountName) => `Ideas on ${CONCERN[role]} for ${accountName}`,
    deRisking: false,
    generic: true,
  },
  role_content: {
    tool: 'content_recommendation',
    channel: 'email',
    costUsd: 0,
    suits: ['technical_evaluator', 'end_user', 'champion'],
    subGoals: ['educate_role', 'cover_role'],
    topic: (role) => `Guide for the ${roleLabel(role)}: ${CONCERN[role]}`,
    subject: (role, accountName) => `A ${roleLabel(role)}'s guide for ${accountName}`,
    deRisking: false,
  },
  objection_response: {
    tool: 'email',
    channel: 'email',
    costUsd: 0,
    suits: ['blocker', 'technical_evaluator'],
    subGoals: ['answer_objection'],
    topic: (role) => `Answering concerns about ${CONCERN[role]}`,
    subject: (_role, accountName) => `Your questions about our fit for ${accountName}`,
    deRisking: false,
  },
  executive_briefing: {
    tool: 'email',
    channel: 'email',
    costUsd: 150,
    suits: ['economic_buyer'],
    subGoals: ['accelerate', 'cover_role'],
    topic: (role) => `Personalised executive briefing: ${CONCERN[role]}`,
    subject: (_role, accountName) => `A briefing prepared for ${accountName}'s leadership`,
    deRisking: false,
  },
  reference_call_offer: {
    tool: 'sales_task',
    channel: 'sales',
    costUsd: 300,
    suits: ['economic_buyer', 'blocker', 'champion'],
    subGoals: ['accelerate', 'answer_objection', 'de_risk'],
    topic: (role) => `Reference call with a peer customer on ${CONCERN[role]}`,
    deRisking: true,
  },
  sales_handoff: {
    tool: 'sales_task',
    channel: 'sales',
    costUsd: 0,
    suits: ['champion', 'economic_buyer'],
    subGoals: ['hand_off'],
    topic: (role) => `Sales hand-off via the ${roleLabel(role)}`,
    deRisking: false,
  },
  ad_audience_add: {
    tool: 'ad_audience',
    channel: 'ads',
    costUsd: 40,
    suits: ALL_ROLES,
    subGoals: ['cover_role'],
    topic: (role) => `Ad audience: ${CONCERN[role]}`,
    deRisking: false,
  },
  event_invite: {
    tool: 'email',
    channel: 'email',
    costUsd: 0,
    suits: ALL_ROLES,
    subGoals: ['educate_role'],
    topic: () => 'Invitation: monthly webinar on account-based marketing',
    subject: (_role, accountName) => `You're invited: our monthly webinar (for ${accountName})`,
    deRisking: false,
  },
  sdr_email: {
    tool: 'email',
    channel: 'email',
    costUsd: 0,
    suits: ALL_ROLES,
    subGoals: ['accelerate'],
    topic: () => 'SDR outreach: a short call about your pipeline',
    subject: (_role, accountName) => `Quick question about ${accountName}'s pipeline`,
    deRisking: false,
  },
  sdr_call: {
    tool: 'sales_task',
    channel: 'sales',
    costUsd: 0,
    suits: ALL_ROLES,
    subGoals: ['accelerate'],
    topic: () => 'SDR call: qualify interest and book a meeting',
    deRisking: false,
  },
};

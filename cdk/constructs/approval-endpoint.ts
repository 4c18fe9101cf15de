/**
 * Where humans decide: the approval-http function behind a Lambda Function URL, and the secret that
 * signs approval links. What the function and the link senders may do with them (read the key,
 * complete the CampaignRun's waiting tasks, the URL in their environment) follows from their port
 * declarations (AgentFunction.bind).
 *
 * The URL reaches the functions that mail links (request-approval) as APPROVAL_BASE_URL, set
 * from the Function URL's attribute. That would close a dependency cycle (request-approval -> URL
 * -> approval-http -> its policy -> CampaignRun -> request-approval) if the SendTask* grant sat in
 * approval-http's default policy, which the function resource depends on. AgentFunction therefore
 * puts that grant in a separate IAM policy that nothing depends on: CloudFormation creates it
 * after the state machine, and no request can arrive before the stack exists.
 */
import { Validations } from 'aws-cdk-lib';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { STEP_PORTS } from '../../shared/app/steps.ts';
import { AgentFunction, type AgentFunctionProps } from './agent-function.ts';

/**
 * Concurrent executions reserved for the approval page: far more than the people who approve at
 * one moment, few enough that a flood of anonymous requests stays a small, bounded cost.
 */
export const APPROVAL_CONCURRENCY = 10;

/** Properties of {@link ApprovalEndpoint}. */
export interface ApprovalEndpointProps {
  /**
   * Options of the approval-http function (its name and ports are fixed).
   * @default - AgentFunction defaults
   */
  readonly handlerProps?: Omit<AgentFunctionProps, 'name' | 'ports' | 'campaignsFile'>;
}

/** The approval-http function with a public Function URL, its signing key and its task-response grant. */
export class ApprovalEndpoint extends Construct {
  /** The approval-http function. */
  readonly handler: AgentFunction;
  /** The public URL humans open from the approval email. */
  readonly url: FunctionUrl;
  /** The HMAC key approval links are signed with. */
  readonly signingKey: Secret;

  constructor(scope: Construct, id: string, props: ApprovalEndpointProps = {}) {
    super(scope, id);
    // Public and anonymous: a flood of requests gets at most APPROVAL_CONCURRENCY at once (the rest
    // are throttled with 429 by Lambda) and cannot starve the workflow's functions.
    this.handler = new AgentFunction(this, 'Handler', {
      reservedConcurrentExecutions: APPROVAL_CONCURRENCY,
      ...props.handlerProps,
      name: 'approval-http',
      ports: STEP_PORTS['approval-http'],
    });

    this.signingKey = new Secret(this, 'LinkSigningKey', {
      description: 'HMAC key that signs approval links (approval id + expiry); never the task token',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.signingKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link-signing key would invalidate every approval link still waiting in an inbox (up to 14 days); ' +
        'the key never leaves the two functions that sign and verify links, and can be rotated by hand between runs.',
    });

    // No IAM auth: approvers open the link from their mailbox. The link carries only an approval id
    // with an HMAC signature and expiry (never the task token), GET/HEAD only render a page, and a
    // decision is a single-use conditional write. (AwsSolutions has no finding for this to acknowledge.)
    this.url = this.handler.lambda.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }
}

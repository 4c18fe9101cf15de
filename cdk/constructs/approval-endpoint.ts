/**
 * Where humans decide: the approval-http function behind a Lambda Function URL, the secret that
 * signs approval links, and the permission to complete the CampaignRun's waiting tasks.
 *
 * The URL reaches the functions that mail links (request-approval) as the env var
 * APPROVAL_BASE_URL, set from the Function URL's attribute. That would close a dependency cycle
 * (request-approval -> URL -> approval-http -> its policy -> CampaignRun -> request-approval) if
 * the SendTask* grant sat in approval-http's default policy, which the function resource depends
 * on. The grant therefore lives in a separate IAM policy that nothing depends on: CloudFormation
 * creates it after the state machine, and no request can arrive before the stack exists.
 */
import { Validations } from 'aws-cdk-lib';
import { Effect, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AgentFunction, type AgentFunctionProps } from './agent-function.ts';

/** Environment variables this construct sets. */
export const APPROVAL_ENV = {
  /**
   * Base URL of the approval endpoint (the Function URL, ending in `/`), set on the link senders.
   * approval-http itself cannot be given its own URL (URL -> function -> env -> URL is a cycle);
   * it must take it from the request (`requestContext.domainName`).
   */
  baseUrl: 'APPROVAL_BASE_URL',
  /** ARN of the Secrets Manager secret holding the link-signing key. */
  signingSecretArn: 'SIGNING_KEY_SECRET_ARN',
} as const;

/** Properties of {@link ApprovalEndpoint}. */
export interface ApprovalEndpointProps {
  /** The state machine whose `.waitForTaskToken` tasks the endpoint completes. */
  readonly stateMachine: IStateMachine;
  /** Functions that mint and mail approval links: they get the base URL and may read the key. */
  readonly linkSenders: readonly AgentFunction[];
  /**
   * Options of the approval-http function (its name is fixed).
   * @default - AgentFunction defaults
   */
  readonly handlerProps?: Omit<AgentFunctionProps, 'name'>;
}

/** The approval-http function with a public Function URL, its signing key and its task-response grant. */
export class ApprovalEndpoint extends Construct {
  /** The approval-http function. */
  readonly handler: AgentFunction;
  /** The public URL humans open from the approval email. */
  readonly url: FunctionUrl;
  /** The HMAC key approval links are signed with. */
  readonly signingKey: Secret;

  constructor(scope: Construct, id: string, props: ApprovalEndpointProps) {
    super(scope, id);
    if (props.linkSenders.length === 0) {
      throw new Error('ApprovalEndpoint: props.linkSenders is empty; some function must send the approval links');
    }
    this.handler = new AgentFunction(this, 'Handler', { ...props.handlerProps, name: 'approval-http' });

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
    this.handler.lambda.addEnvironment(APPROVAL_ENV.signingSecretArn, this.signingKey.secretArn);
    this.signingKey.grantRead(this.handler.role);
    for (const sender of props.linkSenders) {
      sender.lambda.addEnvironment(APPROVAL_ENV.baseUrl, this.url.url);
      sender.lambda.addEnvironment(APPROVAL_ENV.signingSecretArn, this.signingKey.secretArn);
      this.signingKey.grantRead(sender.role);
    }

    // Separate from the role's default policy on purpose: see the file header (dependency cycle).
    new Policy(this, 'TaskResponsePolicy', {
      roles: [this.handler.role],
      statements: [
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          resources: [props.stateMachine.stateMachineArn],
        }),
      ],
    });
  }
}

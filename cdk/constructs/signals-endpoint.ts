/**
 * Where signals come in over HTTP: the signals-http function behind its own Lambda Function URL
 * (auth NONE: every request is HMAC-signed with the key in this construct's secret, and checked
 * for freshness and replay before anything is stored), and the URL as a stack output.
 */
import { CfnOutput, Validations } from 'aws-cdk-lib';
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { STEP_PORTS } from '../../shared/app/steps.ts';
import { AgentFunction, type AgentFunctionProps } from './agent-function.ts';

/**
 * Concurrent executions reserved for the signals endpoint: enough for senders' bursts (a request
 * carries up to 500 signals), few enough that a flood of unsigned requests stays a small, bounded
 * cost and cannot take concurrency from the workflow.
 */
export const SIGNALS_CONCURRENCY = 10;

/** Properties of {@link SignalsEndpoint}. */
export interface SignalsEndpointProps {
  /**
   * Options of the signals-http function (its name and ports are fixed).
   * @default - AgentFunction defaults
   */
  readonly handlerProps?: Omit<AgentFunctionProps, 'name' | 'ports' | 'campaignsFile'>;
}

/** The signals-http function with a public Function URL and the key its requests are signed with. */
export class SignalsEndpoint extends Construct {
  /** The signals-http function. */
  readonly handler: AgentFunction;
  /** The public URL senders POST signed batches to (`<url>signals`). */
  readonly url: FunctionUrl;
  /** The HMAC key signal requests are signed with (senders read it from here). */
  readonly signingKey: Secret;

  constructor(scope: Construct, id: string, props: SignalsEndpointProps = {}) {
    super(scope, id);
    this.handler = new AgentFunction(this, 'Handler', {
      reservedConcurrentExecutions: SIGNALS_CONCURRENCY,
      ...props.handlerProps,
      name: 'signals-http',
      ports: STEP_PORTS['signals-http'],
    });

    this.signingKey = new Secret(this, 'RequestSigningKey', {
      description: 'HMAC-SHA256 key that senders sign signal requests with (x-amk-signature: v1=<hex of "<timestamp>.<body>">)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.signingKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The key is shared with the systems that send signals (a CRM webhook, an intent feed), which keep their own copy: an automatic rotation ' +
        'would break every sender at once. Rotate by hand: senders may sign with both keys (several v1= entries) while they move over.',
    });

    // No IAM auth: the senders are outside systems. A request is stored only with a valid HMAC over
    // its timestamp and body, fresh (5 minutes) and not seen before; anything else is counted
    // and refused. (AwsSolutions has no finding for this to acknowledge.)
    this.url = this.handler.lambda.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    // Fixed output names: senders' setup scripts look them up by name (describe-stacks).
    new CfnOutput(this, 'Url', { value: this.url.url, description: 'Signals endpoint: POST signed batches to <this URL>signals' }).overrideLogicalId('SignalsUrl');
    new CfnOutput(this, 'SigningKeyArn', { value: this.signingKey.secretArn, description: 'Secret holding the key signal requests are signed with' }).overrideLogicalId('SignalsSigningKeyArn');
  }
}

/**
 * The CDK app (`cdk.json`: `npx tsx cdk/app.ts`): the stack, checked by cdk-nag's AwsSolutions
 * pack, whose unacknowledged findings fail synth. Context: `-c sender=... -c approvers=a,b
 * -c configDir=... -c stackName=... -c bundling=false` (the last for a template-only synth).
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from './synth.ts';

const { app } = buildApp();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

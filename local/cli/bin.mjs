#!/usr/bin/env node
// The `amk` command. Runs the TypeScript sources through tsx, so a fresh clone needs no build.
// The AWS SDK warns on every start under Node 20 (aws/aws-sdk-js-v3#7983); a CLI should not.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';
// Output piped into `head` (or any reader that stops early) ends the command quietly, as Unix tools do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);

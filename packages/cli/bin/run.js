#!/usr/bin/env node

// The AWS SDK warns on every run under Node 20 that its releases after January 2027 will need Node 22. This tool pins
// its SDK version and supports Node 20.19+, so the warning is for the tool's maintainers, not its users. A user who
// sets the variable keeps their own choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

if (process.argv.length === 3 && process.argv[2] === '--version') {
  // `imdsv2 --version` answers without loading oclif (a third of the start-up): the same line as oclif's
  // `config.userAgent`, which test/e2e/cli.test.ts compares it with.
  const { readFileSync } = await import('node:fs');
  const os = await import('node:os');
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const platform =
    os.platform() === 'linux' && os.release().toLowerCase().includes('microsoft') ? 'wsl' : os.platform();
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch();
  process.stdout.write(`${pjson.name}/${pjson.version} ${platform}-${arch} node-${process.version}\n`);
} else {
  // The execute entry point alone: the commands import the rest of @oclif/core when one of them runs.
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
}

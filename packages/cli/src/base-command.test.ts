import { fileURLToPath } from 'node:url';
import type { Errors } from '@oclif/core';
import { Config, Flags } from '@oclif/core';
import { CutoverError } from '@imdsv2-cutover/core';
import { captureOutput } from '@oclif/test';
import { beforeAll, describe, expect, it } from 'vitest';
import { BaseCommand } from './base-command.js';

class Failing extends BaseCommand<typeof Failing> {
  static override flags = { code: Flags.string({ required: true }) };
  async run(): Promise<void> {
    throw new CutoverError(this.flags.code as 'BAD_INPUT', 'plan.json: contentHash does not match the content', {
      suggestions: ['Regenerate the plan with imdsv2 plan.'],
    });
  }
}

class LongSuggestion extends BaseCommand<typeof LongSuggestion> {
  async run(): Promise<void> {
    throw new CutoverError('BAD_USAGE', 'x', {
      suggestions: [`Run: imdsv2 rollback --journal /${'d/'.repeat(60)}j.jsonl`],
    });
  }
}

class Succeeding extends BaseCommand<typeof Succeeding> {
  async run(): Promise<{ ok: true }> {
    return { ok: true };
  }
}

let config: Config;
beforeAll(async () => {
  config = await Config.load(fileURLToPath(new URL('..', import.meta.url)));
});

/** Runs `Failing`; its exit code and what it printed on stderr. */
async function exitOf(argv: string[]): Promise<{ exit: number | undefined; stderr: string }> {
  const { error, stderr } = await captureOutput(() => Failing.run(argv, config));
  if (!error) throw new Error('expected the command to fail');
  return { exit: (error as Errors.CLIError).oclif?.exit, stderr };
}

describe('BaseCommand', () => {
  it.each([
    ['BAD_INPUT', 2],
    ['HASH_MISMATCH', 2],
    ['GATE_FAILED', 3],
    ['GUARD_HALTED', 4],
    ['AWS_ERROR', 1],
  ])('maps %s to exit code %i and keeps the message and suggestions', async (code, exit) => {
    const r = await exitOf(['--code', code]);
    expect(r.exit).toBe(exit);
    expect(r.stderr).toBe(
      [
        'Error: plan.json: contentHash does not match the content',
        `  Code: ${code}`,
        '  Try this:',
        '    * Regenerate the plan with imdsv2 plan.',
        '',
      ].join('\n'),
    );
  });

  it('prints a suggestion whole, however long: a command in it can be copied', async () => {
    const { stderr } = await captureOutput(() => LongSuggestion.run([], config));
    expect(stderr.split('\n')).toContain(`    * Run: imdsv2 rollback --journal /${'d/'.repeat(60)}j.jsonl`);
  });

  it('keeps the mapped exit code under --json', async () => {
    const before = process.exitCode;
    // oclif's catch keeps an exit code already set by an earlier failing command in this process.
    process.exitCode = undefined;
    try {
      const { stdout } = await captureOutput(() => Failing.run(['--code', 'GATE_FAILED', '--json'], config));
      expect(process.exitCode).toBe(3);
      expect(JSON.parse(stdout).error.code).toBe('GATE_FAILED');
    } finally {
      process.exitCode = before;
    }
  });

  it('prints the returned result as JSON on stdout with --json', async () => {
    const { stdout, error } = await captureOutput(() => Succeeding.run(['--json'], config));
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout)).toEqual({ ok: true });
  });
});

import type { Interfaces } from '@oclif/core';
import { Command, Errors, Flags } from '@oclif/core';
import { CutoverError, isCutoverError } from '@imdsv2-cutover/core';
import { CliReporter } from './lib/reporter.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * What every command shares: `--json` (oclif's JSON flag: the command's return value is printed as JSON on stdout),
 * `--verbose`/`--quiet` for the progress stream on stderr, a reporter that turns engine events into terminal lines,
 * and the mapping of the engine's `CutoverError` onto oclif errors with the design's exit codes.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    quiet: Flags.boolean({ description: 'Print only warnings and errors on stderr.', helpGroup: 'OUTPUT' }),
    verbose: Flags.boolean({ description: 'Print debug detail on stderr.', helpGroup: 'OUTPUT' }),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  protected reporter!: CliReporter;
  /** A result that goes with a failure (a failed gate): under --json the one document printed holds both. */
  private resultWithFailure: unknown;

  /**
   * Ends a workflow that produced a result and maybe a failure (engine `Outcome`): returns the result, or throws the
   * failure after keeping the result for the JSON error document.
   */
  protected finish<R>(outcome: { result: R; failure: CutoverError | null }): R {
    if (outcome.failure) {
      this.resultWithFailure = outcome.result;
      throw outcome.failure;
    }
    return outcome.result;
  }

  protected override toErrorJson(err: unknown): unknown {
    const base = super.toErrorJson(err) as Record<string, unknown>;
    return this.resultWithFailure === undefined ? base : { ...(this.resultWithFailure as object), ...base };
  }

  public override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
    this.reporter = new CliReporter({ verbose: this.flags.verbose, quiet: this.flags.quiet || this.jsonEnabled() });
  }

  protected override async catch(input: Error & { exitCode?: number }): Promise<unknown> {
    this.reporter?.flush();
    const err = await asCutoverError(input);
    if (isCutoverError(err) && !this.jsonEnabled()) {
      // Printed whole: oclif's renderer wraps at 80 columns when stderr is not a terminal and prefixes every line,
      // which breaks the commands a suggestion names when they are copied.
      const lines = [`Error: ${err.message}`, `  Code: ${err.code}`];
      if (err.suggestions.length > 0) lines.push('  Try this:', ...err.suggestions.map((x) => `    * ${x}`));
      process.stderr.write(`${lines.join('\n')}\n`);
      this.exit(err.exitCode);
    }
    if (isCutoverError(err)) {
      const cliError = new Errors.CLIError(err.message, {
        code: err.code,
        exit: err.exitCode,
        suggestions: err.suggestions.length > 0 ? err.suggestions : undefined,
      });
      if (err.cause !== undefined) Object.assign(cliError, { cause: err.cause });
      // Under --json oclif's catch sets the exit code from `err.exitCode`, not from `oclif.exit`.
      Object.assign(cliError, { exitCode: err.exitCode });
      return super.catch(cliError);
    }
    return super.catch(err);
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.reporter?.flush();
    return super.finally(err);
  }
}

/**
 * Every error that reaches the user has a code. oclif's own errors (a bad flag, exit 2) pass through; an AWS or network
 * error that escaped a workflow is turned into one that names the account, region and operation (`awsFailure`); any
 * other error is INTERNAL (exit 1) with its message, a bug to report.
 */
async function asCutoverError(err: Error & { exitCode?: number }): Promise<Error & { exitCode?: number }> {
  if (isCutoverError(err) || err instanceof Errors.CLIError || 'oclif' in err) return err;
  const { awsFailure, callContextOf } = await import('@imdsv2-cutover/aws');
  if (callContextOf(err) !== undefined || '$metadata' in err) return awsFailure(err);
  return new CutoverError('INTERNAL', `unexpected error: ${err.message || String(err)}`, {
    cause: err,
    suggestions: ['Run again with --verbose; if it persists, report it with the command line and this message.'],
  });
}

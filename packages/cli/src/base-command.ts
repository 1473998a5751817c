import { stripVTControlCharacters } from 'node:util';
import type { Interfaces } from '@oclif/core';
import { Command, Errors, Flags } from '@oclif/core';
import { CutoverError, assertKnownRegions, closestName, isCutoverError } from '@imdsv2-cutover/core';
import { splitList } from './lib/flags.js';
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

  /**
   * The one JSON error document of `--json` (docs/troubleshooting.md): `{"error": {code, message, suggestions,
   * exitCode, details?}}`, beside the result of a run that also failed (a failed gate). Never oclif's internals (its
   * parse state holds the whole configuration) nor a stack.
   */
  protected override toErrorJson(err: unknown): unknown {
    const e = err as Partial<CliErrorFields> & { message?: string };
    const error = {
      code: e.code ?? 'INTERNAL',
      message: stripVTControlCharacters(e.message ?? String(err)),
      suggestions: e.suggestions ?? [],
      exitCode: e.exitCode ?? e.oclif?.exit ?? 1,
      ...(e.details === undefined ? {} : { details: e.details }),
    };
    return this.resultWithFailure === undefined ? { error } : { ...(this.resultWithFailure as object), error };
  }

  public override async init(): Promise<void> {
    await super.init();
    const flagDefs = { ...(super.ctor as typeof BaseCommand).baseFlags, ...this.ctor.flags };
    let parsed;
    try {
      parsed = await this.parse({
        args: this.ctor.args,
        baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
        enableJsonFlag: this.ctor.enableJsonFlag,
        flags: this.ctor.flags,
        strict: this.ctor.strict,
      });
    } catch (e) {
      // The arguments were read, and refused: oclif would otherwise warn that the command never parsed them.
      this.parsed = true;
      throw usageError(e, this.id ?? '', [...Object.keys(flagDefs), ...(this.ctor.enableJsonFlag ? ['json'] : [])]);
    }
    this.flags = parsed.flags as BaseFlags<T>;
    this.args = parsed.args as BaseArgs<T>;
    this.reporter = new CliReporter({ verbose: this.flags.verbose, quiet: this.flags.quiet || this.jsonEnabled() });
    this.checkRegions();
  }

  /**
   * Region names are checked before any work, in every command that takes them: a typo is BAD_USAGE naming the value
   * and the closest region. `--region` may come from AWS_REGION (oclif maps the variable onto the flag); the message
   * names whichever the user set.
   */
  private checkRegions(): void {
    const f = this.flags as { region?: string; regions?: string };
    const given = (name: string) => this.argv.some((a) => a === name || a.startsWith(`${name}=`));
    if (f.region !== undefined && f.region !== '')
      assertKnownRegions([f.region], given('--region') ? '--region' : 'AWS_REGION', process.env);
    if (f.regions !== undefined) assertKnownRegions(splitList(f.regions)!, '--regions', process.env);
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
      Object.assign(cliError, { exitCode: err.exitCode, details: err.details });
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

/** What `toErrorJson` reads from the errors `catch` hands on (a CLIError made from a CutoverError, or oclif's own). */
interface CliErrorFields {
  code: string;
  suggestions: string[];
  exitCode: number;
  details: Record<string, unknown>;
  oclif: { exit?: number };
}

/**
 * A flag or argument oclif could not parse, as BAD_USAGE (exit 2) with a short message: oclif's own text without its
 * "See more help" tail and usage dump, the closest flag for an unknown one, and the command's --help.
 */
export function usageError(e: unknown, commandId: string, flagNames: readonly string[]): CutoverError {
  if (isCutoverError(e)) return e;
  const raw = stripVTControlCharacters(e instanceof Error ? e.message : String(e));
  const missingArgs = (e as { args?: unknown }).args;
  const message =
    /^Missing \d+ required arg/.test(raw) && Array.isArray(missingArgs)
      ? `missing required argument: ${(missingArgs as { name: string; description?: string }[]).map((a) => `${a.name.toUpperCase()}${a.description ? ` (${a.description.replace(/\.$/, '')})` : ''}`).join(', ')}`
      : raw
          .replace(/\n?See more help with --help\s*$/, '')
          .replace(/^The following errors? occurred:\s*/, '')
          .replace(/Missing required flag (\S+)/g, 'missing required flag --$1')
          .replace(/^Parsing (--\S+)\s*\n\s*/, '$1: ')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '')
          .join('; ');
  const suggestions: string[] = [];
  const unknown = (e as { flags?: unknown }).flags;
  if (Array.isArray(unknown)) {
    for (const f of unknown as string[]) {
      const name = f.replace(/^-+/, '').replace(/=.*$/, '');
      // One edit in three characters at most: "--assesment" finds --assessment, "--bogus" finds nothing.
      const near = closestName(name, flagNames, Math.max(1, Math.floor(name.length / 3)));
      if (near) suggestions.push(`Did you mean --${near}?`);
    }
  }
  const help = ['imdsv2', ...commandId.split(':'), '--help'].join(' ');
  suggestions.push(`See the flags of the command: ${help}`);
  return new CutoverError('BAD_USAGE', message, { suggestions });
}

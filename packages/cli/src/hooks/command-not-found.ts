import type { Hook } from '@oclif/core';
import { Errors, toConfiguredId } from '@oclif/core';
import { closestName, terminalSafe } from '@imdsv2-cutover/core';

/**
 * A mistyped command: BAD_USAGE (exit 2) naming it and the closest command ("did you mean"), as one JSON error
 * document under `--json` (docs/troubleshooting.md). @oclif/plugin-not-found was tried first: it shows its guess only
 * in an interactive prompt that then runs the guessed command, prints no guess when stdin is not a terminal (CI,
 * scripts) and exits 127; a tool whose commands change AWS should not run a command the user did not type.
 */
const hook: Hook.CommandNotFound = function (opts) {
  const typed = terminalSafe(toConfiguredId(opts.id, opts.config));
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  // Half the length in edits at most: "assses" finds assess, "hello" finds nothing.
  const near = closestName(opts.id, ids, Math.max(2, Math.floor(opts.id.length / 2)));
  const guess = near === undefined ? undefined : toConfiguredId(near, opts.config);
  const message = `"${typed}" is not an ${opts.config.bin} command${guess ? ` (did you mean ${guess}?)` : ''}`;
  const suggestions = [
    ...(guess ? [terminalSafe(`${opts.config.bin} ${guess} ${(opts.argv ?? []).join(' ')}`.trim())] : []),
    `${opts.config.bin} --help lists the commands`,
  ];
  if ((opts.argv ?? []).includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'BAD_USAGE', message, suggestions, exitCode: 2 } }, null, 2)}\n`,
    );
    this.exit(2);
  }
  return Promise.reject(new Errors.CLIError(message, { exit: 2, code: 'BAD_USAGE', suggestions }));
};

export default hook;

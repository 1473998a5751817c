/**
 * The one error type of the tool. Every error a user can meet carries a code, a message that names the wrong value and
 * what to do about it, optional suggestions, and the underlying cause. The CLI maps `exitCode` to the process exit code
 * (design section 4): 1 failure, 2 bad usage or bad input file, 3 a `--fail-on` gate failed, 4 enforcement halted by the
 * guard, 130 interrupted by the user (Ctrl-C: 128 + SIGINT, as shells report it).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  badInput: 2,
  gateFailed: 3,
  guardHalted: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Error codes. Kept as a union of strings (not a registry) so that a new one is one line where it is thrown. */
export type ErrorCode =
  | 'BAD_USAGE'
  | 'BAD_INPUT'
  | 'SCHEMA_MISMATCH'
  | 'HASH_MISMATCH'
  | 'STALE_INPUT'
  | 'DRIFT'
  | 'JOURNAL_LOCKED'
  | 'JOURNAL_CORRUPT'
  | 'JOURNAL_TRUNCATED'
  | 'JOURNAL_NO_SPACE'
  | 'JOURNAL_WRITE_FAILED'
  | 'AWS_ERROR'
  | 'AWS_THROTTLED'
  | 'AWS_UNREACHABLE'
  | 'ACCESS_DENIED'
  | 'INCOMPLETE'
  | 'GATE_FAILED'
  | 'GUARD_HALTED'
  | 'GUARD_UNVERIFIED'
  | 'PROBE_FAILED'
  | 'NOT_CONFIRMED'
  | 'TOKENS_ENFORCED'
  | 'WAVE_ORDER'
  | 'INTERRUPTED'
  | 'INTERNAL';

const defaultExit: Partial<Record<ErrorCode, ExitCode>> = {
  BAD_USAGE: ExitCode.badInput,
  BAD_INPUT: ExitCode.badInput,
  SCHEMA_MISMATCH: ExitCode.badInput,
  HASH_MISMATCH: ExitCode.badInput,
  STALE_INPUT: ExitCode.badInput,
  JOURNAL_CORRUPT: ExitCode.badInput,
  TOKENS_ENFORCED: ExitCode.badInput,
  JOURNAL_TRUNCATED: ExitCode.badInput,
  JOURNAL_NO_SPACE: ExitCode.badInput,
  GATE_FAILED: ExitCode.gateFailed,
  GUARD_HALTED: ExitCode.guardHalted,
  WAVE_ORDER: ExitCode.badInput,
  INTERRUPTED: ExitCode.interrupted,
};

export interface CutoverErrorOptions {
  /** What the user can do, one action per entry. */
  suggestions?: string[];
  /** The underlying error (an SDK exception, a parse error). */
  cause?: unknown;
  /** Overrides the exit code derived from the error code. */
  exitCode?: ExitCode;
  /** Structured details for `--json` output (never secrets). */
  details?: Record<string, unknown>;
}

export class CutoverError extends Error {
  readonly code: ErrorCode;
  readonly suggestions: string[];
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: CutoverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CutoverError';
    this.code = code;
    this.suggestions = options.suggestions ?? [];
    this.exitCode = options.exitCode ?? defaultExit[code] ?? ExitCode.failure;
    this.details = options.details;
  }
}

export function isCutoverError(e: unknown): e is CutoverError {
  return e instanceof CutoverError;
}

/** Shorthand for the most common error: a value the user gave (flag or file content) that cannot be used. */
export function badInput(message: string, suggestions: string[] = [], cause?: unknown): CutoverError {
  return new CutoverError('BAD_INPUT', message, { suggestions, cause });
}

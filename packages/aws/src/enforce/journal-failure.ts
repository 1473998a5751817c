import path from 'node:path';
import type { MetadataSettings, Reporter } from '@imdsv2-cutover/core';
import { CutoverError } from '@imdsv2-cutover/core';
import { settingsText } from './aws-ops.js';

/**
 * A change AWS made whose result the journal could not record (its write failed after the call was sent). Its intent
 * is in the journal (no call is sent before), so a later resume or rollback finds it; until then the user holds this.
 */
export interface UnrecordedChange {
  instanceId: string;
  accountId: string;
  region: string;
  /** What the call did: `applied` (enforce) or `rolled back` (rollback, the guard). */
  what: 'applied' | 'rolled back';
  /** The settings before the call: what restores the instance. */
  previous: MetadataSettings;
  /** The settings the call set. */
  now: MetadataSettings;
  /** The AWS CLI command that puts `previous` back, for when the journal cannot be written again. */
  restore: string;
}

/** The AWS CLI command that sets an instance's three metadata settings back. */
export function restoreCommand(
  c: { instanceId: string; accountId: string; region: string },
  s: MetadataSettings,
): string {
  return (
    `aws ec2 modify-instance-metadata-options --region ${c.region} --instance-id ${c.instanceId} ` +
    `--http-tokens ${s.httpTokens} --http-put-response-hop-limit ${s.httpPutResponseHopLimit} ` +
    `--http-endpoint ${s.httpEndpoint}  # account ${c.accountId}`
  );
}

/** Changes made while the journal was failing, whose results could not be written. */
export class UnrecordedLedger {
  readonly changes: UnrecordedChange[] = [];

  add(
    c: { instanceId: string; accountId: string; region: string },
    what: UnrecordedChange['what'],
    previous: MetadataSettings,
    now: MetadataSettings,
  ): void {
    this.changes.push({ ...c, what, previous, now, restore: restoreCommand(c, previous) });
  }
}

/** True for the error of a journal append that could not be written. */
export function isJournalFailure(e: unknown): e is CutoverError {
  return e instanceof CutoverError && e.code === 'JOURNAL_WRITE_FAILED';
}

/**
 * Appends a record that follows an AWS call. When the journal cannot take it, the change is added to `ledger` (if the
 * call changed something) instead of failing the worker: the run then ends with every such change listed. Other
 * errors propagate. Resolves true when the record is on disk.
 */
export async function recordAfterCall(
  append: () => Promise<unknown>,
  ledger: UnrecordedLedger,
  change: {
    target: { instanceId: string; accountId: string; region: string };
    what: UnrecordedChange['what'];
    previous: MetadataSettings;
    now: MetadataSettings;
  } | null,
): Promise<boolean> {
  try {
    await append();
    return true;
  } catch (e) {
    if (!isJournalFailure(e)) throw e;
    if (change) ledger.add(change.target, change.what, change.previous, change.now);
    return false;
  }
}

/**
 * The user's record of changes the journal could not hold, on stderr: one warning per instance with its settings
 * before and now and the command that restores it, so the lines can be saved (`2> restore.txt`) and run.
 */
export function reportUnrecorded(reporter: Reporter, ledger: UnrecordedLedger): void {
  for (const c of ledger.changes) {
    reporter.emit({
      type: 'warning',
      code: 'CHANGED_WITHOUT_RECORD',
      message:
        `${c.instanceId} (${c.accountId} ${c.region}) was ${c.what} to ${settingsText(c.now)} but the journal could not record it; ` +
        `previous settings: ${settingsText(c.previous)}; restore with: ${c.restore}`,
    });
  }
}

/**
 * The error that ends a run whose journal could not be written (JOURNAL_WRITE_FAILED, exit 1): it names the journal,
 * what failed (ENOSPC, EIO), what this run changed and recorded, every change it could not record (with the previous
 * settings and the command that restores it), and the next step.
 */
export function journalStopError(o: {
  journalFile: string;
  failure: CutoverError;
  /** `enforce wave 1`, `rollback`. */
  doing: string;
  /** Changes this run made and recorded. */
  recorded: number;
  ledger: UnrecordedLedger;
  /** The command that continues, e.g. `imdsv2 enforce --plan PLAN --wave 1 --journal J`. */
  resume: string;
}): CutoverError {
  const dir = path.dirname(path.resolve(o.journalFile));
  const errno = o.failure.details?.errno;
  const code = typeof errno === 'string' ? errno : 'EIO';
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const d = o.failure.details ?? {};
  const how = typeof d.what === 'string' && typeof d.reason === 'string' ? `${d.what}: ${d.reason}` : o.failure.message;
  const cause = `${full ? 'the disk is full' : 'a write error'}; ${how}`;
  const u = o.ledger.changes;
  const unrecorded =
    u.length === 0
      ? 'every change made has its result recorded'
      : `${u.length} change(s) were made but could not be recorded: ${u
          .map((c) => `${c.instanceId} (${c.what}; previous ${settingsText(c.previous)})`)
          .join(', ')}`;
  return new CutoverError(
    'JOURNAL_WRITE_FAILED',
    `${o.doing} stopped: the journal ${o.journalFile} could not be written (${cause}). ` +
      `No AWS call was sent after that. This run changed and recorded ${o.recorded} instance(s); ${unrecorded}.`,
    {
      cause: o.failure,
      suggestions: [
        full
          ? `Free space on the file system of ${dir} (\`df -h ${dir}\`), then run \`${o.resume}\` again: it continues where this run stopped.`
          : `Fix the disk of ${dir} (or copy ${o.journalFile} and its .seal to a sound one), then run \`${o.resume}\` again.`,
        `Or undo everything the journal records: \`imdsv2 rollback --journal ${o.journalFile} --all\`.`,
        ...(u.length > 0
          ? [
              'The changes that could not be recorded are printed above with the command that restores each (their intents are in the journal, so the rollback above restores them too once the journal can be written).',
            ]
          : []),
      ],
      details: { journal: o.journalFile, errno: code, recorded: o.recorded, unrecorded: u },
    },
  );
}

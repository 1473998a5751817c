import { createHash } from 'node:crypto';
import { CutoverError } from '../errors.js';
import { contentHash } from '../hash.js';
import { JournalSeal, SEAL_SLOT_BYTES } from '../schemas/journal.js';
import type { ParsedJournal } from './parse.js';

/**
 * The seal: how the tool tells a journal whose writer stopped mid-write (a crash, a full disk: legitimate, recovered
 * from) from one that was cut short, emptied or edited afterwards (its history is lost: refused). The rules, the same
 * for every reader (documented in docs/enforce.md, "Reading the journal"):
 * - after every commit (the journal's new lines written and fsync'd), and before any caller acts on it, the writer
 *   records in `<journal>.seal` how many bytes the journal holds, the last record's `seq` and the sha256 of those
 *   bytes; so everything an AWS call followed lies within what the seal vouches for;
 * - the journal must hold at least the sealed bytes, and their sha256 must match: otherwise JOURNAL_TRUNCATED (shorter,
 *   empty, or missing) or JOURNAL_CORRUPT (changed), exit 2;
 * - committed lines after the sealed bytes are legitimate (the writer stopped between a commit and its seal; nothing
 *   was done on the strength of them), and so is a torn tail after the last newline;
 * - a version-2 journal with records needs its seal; a version-1 journal without one is read with its length
 *   unchecked (`integrity.status` says so).
 */
export interface JournalIntegrity {
  /**
   * - `sealed`: the seal vouches for the first `sealedBytes` bytes;
   * - `unsealed-v1`: a journal of version 1 without a seal: whether it is complete cannot be told;
   * - `new`: nothing was committed but (perhaps) the header: there is nothing to lose.
   */
  status: 'sealed' | 'unsealed-v1' | 'new';
  /** Bytes the seal vouches for (0 without one). */
  sealedBytes: number;
  /** `seq` of the last sealed record; -1 when none. */
  sealedLastSeq: number;
  /** When the seal was last written (the writer's clock); null without one. */
  sealedAt: string | null;
  /** Committed records after the sealed bytes (the writer stopped between a commit and its seal). */
  unsealedRecords: number;
  /** The last writer did not close the journal: it crashed, was killed, or still runs. */
  writerOpen: boolean;
}

/** sha256 of a journal's bytes, lowercase hex (what a seal records). */
export function journalBytesHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A seal slot's own checksum: the content hash (sha256 of the canonical JSON) of every field but `check`. */
const slotCheck = (fields: Omit<JournalSeal, 'check'>): string => contentHash(fields);

/** A complete seal (with its checksum) from its fields. */
export function makeSeal(fields: Omit<JournalSeal, 'check' | 'type' | 'schema'>): JournalSeal {
  const body = {
    type: 'seal' as const,
    schema: { name: 'imdsv2-cutover/journal-seal' as const, version: 1 as const },
    ...fields,
  };
  return { ...body, check: slotCheck(body) };
}

/** One slot's text: the seal's JSON padded with spaces to SEAL_SLOT_BYTES - 1 bytes, then a newline. */
export function encodeSealSlot(seal: JournalSeal): string {
  const json = JSON.stringify(seal);
  const pad = SEAL_SLOT_BYTES - 1 - Buffer.byteLength(json, 'utf8');
  if (pad < 0) throw new Error(`a journal seal is ${Buffer.byteLength(json, 'utf8')} bytes, more than a slot holds`);
  return `${json}${' '.repeat(pad)}\n`;
}

/**
 * The newest valid slot of a seal file's text: slots are parsed and checked (schema and `check`), and the one with the
 * highest `n` wins. `damaged` is true when the file has content but no valid slot. Pure.
 */
export function readSealText(text: string): { seal: JournalSeal | null; damaged: boolean } {
  let best: JournalSeal | null = null;
  for (let i = 0; i * SEAL_SLOT_BYTES < text.length; i++) {
    const raw = text.slice(i * SEAL_SLOT_BYTES, (i + 1) * SEAL_SLOT_BYTES).trim();
    if (raw === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      continue;
    }
    const parsed = JournalSeal.safeParse(data);
    if (!parsed.success) continue;
    const { check, ...fields } = parsed.data;
    if (slotCheck(fields) !== check) continue;
    if (!best || parsed.data.n > best.n) best = parsed.data;
  }
  return { seal: best, damaged: best === null && text.trim() !== '' };
}

function lastSeqOf(parsed: ParsedJournal | null): number {
  return parsed?.records.at(-1)?.seq ?? -1;
}

/** What the surviving records still show: instances with an apply intent. */
function knownChanges(parsed: ParsedJournal | null): string[] {
  const ids = new Set<string>();
  for (const r of parsed?.records ?? []) {
    if (r.type === 'intent' && r.action === 'apply' && r.target.kind === 'instance') ids.add(r.target.instanceId);
  }
  return [...ids];
}

function truncatedError(
  file: string,
  seal: JournalSeal,
  fileBytes: number,
  parsed: ParsedJournal | null,
): CutoverError {
  const lastSeq = lastSeqOf(parsed);
  const known = knownChanges(parsed);
  const shown = known.slice(0, 10).join(', ') + (known.length > 10 ? `, ... (${known.length - 10} more)` : '');
  const what =
    fileBytes === 0
      ? 'the file is empty'
      : `the file holds ${fileBytes} bytes, up to record ${lastSeq} (records ${lastSeq + 1} to ${seal.lastSeq} are missing)`;
  return new CutoverError(
    'JOURNAL_TRUNCATED',
    `${file} was cut short: its seal (${file}.seal, written ${seal.at}) records ${seal.bytes} bytes up to record ${seal.lastSeq}, but ${what}. ` +
      `What the remaining records show: ${known.length} instance(s) changed${known.length > 0 ? ` (${shown})` : ''}; the missing records may name more. ` +
      'Nothing was read from AWS or changed.',
    {
      suggestions: [
        `Restore ${file} together with ${file}.seal from a backup, if there is one, and run the command again.`,
        `Or restore every instance whose live settings show the change, instance by instance, to the settings the plan recorded: \`imdsv2 rollback --journal ${file} --from-plan PLAN.json --all\`.`,
      ],
      details: {
        file,
        sealedBytes: seal.bytes,
        sealedLastSeq: seal.lastSeq,
        sealedAt: seal.at,
        fileBytes,
        lastSeq,
        knownChanged: known,
      },
    },
  );
}

/**
 * Checks a journal against its seal by the rules above and says what the seal vouches for. `bytes` is the journal's
 * content (null: no journal file), `parsed` its parse by `parseJournalText` (null when there is no file), `seal` the
 * seal file's text (null: no seal file). Pure. Errors: JOURNAL_TRUNCATED (the journal is shorter than sealed, empty,
 * missing, or a version-2 journal with records lost its seal) and JOURNAL_CORRUPT (the sealed bytes changed, or the
 * seal belongs to another journal), both exit 2, naming the file and the figures.
 */
export function verifyJournalSeal(
  bytes: Uint8Array | null,
  parsed: ParsedJournal | null,
  sealText: string | null,
  file: string,
): JournalIntegrity {
  const { seal, damaged } = readSealText(sealText ?? '');
  const fileBytes = bytes?.length ?? 0;
  const records = parsed?.records.length ?? 0;
  if (!seal) {
    const version = parsed?.header?.schema.version ?? 2;
    if (records === 0) {
      return {
        status: 'new',
        sealedBytes: 0,
        sealedLastSeq: -1,
        sealedAt: null,
        unsealedRecords: 0,
        writerOpen: false,
      };
    }
    if (version === 1 && !damaged) {
      return {
        status: 'unsealed-v1',
        sealedBytes: 0,
        sealedLastSeq: -1,
        sealedAt: null,
        unsealedRecords: records,
        writerOpen: false,
      };
    }
    throw new CutoverError(
      'JOURNAL_TRUNCATED',
      `${file} has ${records} record(s) but its seal ${file}.seal is ${damaged ? 'damaged' : 'missing'}: whether the journal is complete cannot be told`,
      {
        suggestions: [
          `Restore ${file} together with ${file}.seal from a backup (they are copied and kept together).`,
          `Or restore every instance whose live settings show the change to the settings the plan recorded: \`imdsv2 rollback --journal ${file} --from-plan PLAN.json --all\`.`,
        ],
        details: { file, records },
      },
    );
  }
  if (bytes === null || fileBytes < seal.bytes) throw truncatedError(file, seal, fileBytes, parsed);
  if (parsed?.header && parsed.header.journalId !== seal.journalId) {
    throw new CutoverError(
      'JOURNAL_CORRUPT',
      `${file}.seal belongs to journal ${seal.journalId}, not to ${file} (journal ${parsed.header.journalId})`,
      { suggestions: [`Keep each journal with its own seal: restore both from the same backup.`], details: { file } },
    );
  }
  if (journalBytesHash(bytes.subarray(0, seal.bytes)) !== seal.sha256) {
    throw new CutoverError(
      'JOURNAL_CORRUPT',
      `${file}: its first ${seal.bytes} bytes are not what was sealed at ${seal.at}: the journal was edited or damaged`,
      {
        suggestions: [`Restore ${file} together with ${file}.seal from a backup; never edit a journal by hand.`],
        details: { file, sealedBytes: seal.bytes },
      },
    );
  }
  return {
    status: 'sealed',
    sealedBytes: seal.bytes,
    sealedLastSeq: seal.lastSeq,
    sealedAt: seal.at,
    unsealedRecords: (parsed?.records ?? []).filter((r) => r.seq > seal.lastSeq).length,
    writerOpen: seal.open,
  };
}

import { CutoverError } from '../errors.js';
import { JournalHeader, JournalRecord } from '../schemas/journal.js';
import { formatPath } from '../schemas/validate.js';
import type { JournalIntegrity } from './seal.js';

/**
 * What a journal's text holds. The rules, the same for every reader (enforce, rollback, status, report; documented in
 * docs/enforce.md, "Reading the journal"):
 * - the first line is the header, and no other line is;
 * - a record is committed when its terminating newline is on disk, so every newline-terminated line must be a valid
 *   record: a blank line, a line that is not JSON, or one that fails the schema is JOURNAL_CORRUPT (exit 2) naming the
 *   file, the line and the field;
 * - text after the last newline is a torn tail (the writer stopped mid-write: a crash, a full disk). It was never
 *   committed, so no AWS call followed it: readers leave it out and say so, and the next writer cuts it off;
 * - in a version-2 journal the records are numbered 0, 1, 2, ... in file order: a gap or a repeat is JOURNAL_CORRUPT
 *   (a line was removed or copied);
 * - whether the journal is complete (not cut short) is told by its seal (`verifyJournalSeal`, seal.ts), which readers
 *   that touch the disk check right after this parse.
 */
export interface ParsedJournal {
  /** Null for an empty file (or one holding only a torn header). */
  header: JournalHeader | null;
  records: JournalRecord[];
  /** UTF-8 bytes up to and including the last committed line: what a writer keeps. */
  goodBytes: number;
  /** The uncommitted text after the last newline, if any: its 1-based line number and length in bytes. */
  tornTail: { line: number; bytes: number } | null;
  /** What the seal vouches for; set by readers that checked it (`readJournal`), absent for text parsed alone. */
  integrity?: JournalIntegrity;
}

function corrupt(file: string, line: number, why: string): CutoverError {
  return new CutoverError('JOURNAL_CORRUPT', `${file}:${line}: not a valid journal line (${why})`, {
    suggestions: [
      'The journal is append-only and written by imdsv2 alone: restore it from a backup if it was edited or copied in part.',
      'Only text after the last newline (a write cut short by a crash or a full disk) is left out automatically.',
    ],
    details: { file, line },
  });
}

/**
 * Parses journal text by the rules above. Pure; errors are `CutoverError('JOURNAL_CORRUPT')` (exit 2) naming
 * `file:line` and, for schema errors, the field path (`target.instanceId: ...`).
 */
export function parseJournalText(text: string, file: string): ParsedJournal {
  const out: ParsedJournal = { header: null, records: [], goodBytes: 0, tornTail: null };
  const lastNewline = text.lastIndexOf('\n');
  const committed = lastNewline === -1 ? '' : text.slice(0, lastNewline + 1);
  const tail = text.slice(lastNewline + 1);
  let offset = 0;
  let lineNo = 0;
  while (offset < committed.length) {
    const nl = committed.indexOf('\n', offset);
    const raw = committed.slice(offset, nl);
    offset = nl + 1;
    lineNo++;
    if (raw.trim() === '') throw corrupt(file, lineNo, 'a blank line; the writer never writes one');
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (e) {
      throw corrupt(file, lineNo, `not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The header and the records are told apart by `type` first, so a schema error names the field, not "the union".
    const isHeader = typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'header';
    const parsed = isHeader ? JournalHeader.safeParse(data) : JournalRecord.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw corrupt(file, lineNo, issue ? `${formatPath(issue.path)}: ${issue.message}` : 'schema');
    }
    const rec = parsed.data;
    if (lineNo === 1) {
      if (rec.type !== 'header') throw corrupt(file, 1, 'the first line must be the journal header');
      out.header = rec;
    } else if (rec.type === 'header') {
      throw corrupt(file, lineNo, 'a second header');
    } else {
      const expected = out.records.length;
      if (out.header?.schema.version === 2 && rec.seq !== expected) {
        throw corrupt(
          file,
          lineNo,
          `record seq ${rec.seq} where ${expected} was expected: a line is missing or repeated`,
        );
      }
      out.records.push(rec);
    }
  }
  out.goodBytes = Buffer.byteLength(committed, 'utf8');
  if (tail.length > 0) out.tornTail = { line: lineNo + 1, bytes: Buffer.byteLength(tail, 'utf8') };
  return out;
}

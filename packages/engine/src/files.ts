import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Assessment, DocumentKind, PlanBody } from '@imdsv2-cutover/core';
import {
  CutoverError,
  assessmentKind,
  checkDocumentHeader,
  parseJsonDocument,
  parseJsonText,
  parseYamlDocument,
  validateDocument,
  writeCanonical,
} from '@imdsv2-cutover/core';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';

/** Input files larger than this are refused before reading (an assessment of 100k instances is far below it). */
export const MAX_INPUT_BYTES = 1024 * 1024 * 1024;

/** Reads a text file the user named; a missing, unreadable or oversized file is a BAD_INPUT error naming it. */
export async function readInputText(file: string, what: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  return (await readInputBytes(file, what, maxBytes)).toString('utf8');
}

/** `readInputText`, as bytes. */
async function readInputBytes(file: string, what: string, maxBytes = MAX_INPUT_BYTES): Promise<Buffer> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new CutoverError('BAD_INPUT', `${file}: the ${what} path is not a file`);
    size = s.size;
  } catch (e) {
    if (e instanceof CutoverError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CutoverError(
      'BAD_INPUT',
      code === 'ENOENT'
        ? `${file}: no such ${what} file`
        : `${file}: cannot read the ${what} file (${code ?? String(e)})`,
      { suggestions: ['Check the path (relative paths are resolved from the current directory).'], cause: e },
    );
  }
  if (size > maxBytes) {
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: the ${what} file is ${size} bytes, more than the ${maxBytes} this tool reads`,
      {
        suggestions: ['Check that this is the right file.'],
      },
    );
  }
  return readFile(file);
}

/** Reads and validates a JSON document (assessment, plan, probe report). */
export async function readJsonDocument<S extends z.ZodType>(kind: DocumentKind<S>, file: string): Promise<z.infer<S>> {
  return parseJsonDocument(kind, await readInputText(file, kind.label), file);
}

/** The digest file of a document: `<file>.sha256`, one line in `sha256sum`'s format (`sha256sum -c` checks it). */
export const digestFileOf = (file: string): string => `${file}.sha256`;

/** A document read with the sha256 of its file's bytes. */
export interface DigestedDocument<T> {
  value: T;
  /** sha256 (hex) of the file's bytes: what `sha256sum` prints, and what a plan binds to. */
  sha256: string;
  /**
   * `digest`: the bytes match the digest file this tool wrote beside them when it validated them, so only the
   * header was checked; `schema`: validated in full against the schema.
   */
  validatedBy: 'digest' | 'schema';
}

/**
 * Reads a JSON document with the sha256 of its bytes. The digest is computed off the main thread (WebCrypto runs in
 * libuv's pool) while the text is parsed. When the document's digest file (`digestFileOf`) names the same sha256, the
 * bytes are exactly those this tool validated and wrote (`writeJsonAtomic` with `digestFile`), so only the header is
 * checked; an edited, truncated or re-encoded file, or one without a digest file, is validated in full (BAD_INPUT,
 * exit 2, naming file and field). At 100,000 instances that saves about as much time as parsing takes.
 */
export async function readDigestedDocument<S extends z.ZodType>(
  kind: DocumentKind<S>,
  file: string,
): Promise<DigestedDocument<z.infer<S>>> {
  const bytes = await readInputBytes(file, kind.label);
  const digest = webcrypto.subtle.digest('SHA-256', bytes);
  const recorded = readFile(digestFileOf(file), 'utf8').then(
    (text) => /^([0-9a-f]{64})\s/.exec(text)?.[1],
    () => undefined,
  );
  const data = parseJsonText(kind, bytes.toString('utf8'), file);
  const sha256 = Buffer.from(await digest).toString('hex');
  if ((await recorded) === sha256) {
    checkDocumentHeader(kind, data, file);
    return { value: data as z.infer<S>, sha256, validatedBy: 'digest' };
  }
  return { value: validateDocument(kind, data, file), sha256, validatedBy: 'schema' };
}

/** An assessment file, read with `readDigestedDocument`: the assessment (validated) alone. */
export async function readAssessmentFile(file: string): Promise<Assessment> {
  return (await readDigestedDocument(assessmentKind, file)).value;
}

/** Reads and validates a YAML document (policy, scenario). */
export async function readYamlDocument<S extends z.ZodType>(kind: DocumentKind<S>, file: string): Promise<z.infer<S>> {
  return parseYamlDocument(kind, await readInputText(file, kind.label), file);
}

/**
 * Writes a file atomically (temporary file, fsync, rename): a reader or a crash never sees half a file, and an
 * existing file is replaced only by a complete new one.
 */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, text, { encoding: 'utf8', fsync: true });
}

/**
 * The text of `JSON.stringify(value, null, 2)`, byte for byte, in pieces: the top levels of objects and arrays are
 * walked, so that no piece is larger than one of their elements (an instance, a wave), not the whole document.
 */
export function* jsonPieces(value: unknown, pad = '', depth = 0): Generator<string> {
  const skipped = (x: unknown) => x === undefined || typeof x === 'function' || typeof x === 'symbol';
  if (depth >= 2 || value === null || typeof value !== 'object' || 'toJSON' in value) {
    yield (JSON.stringify(value, null, 2) ?? 'null').replaceAll('\n', `\n${pad}`);
    return;
  }
  const inner = `${pad}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < value.length; i++) {
      yield `${i > 0 ? ',' : ''}\n${inner}`;
      yield* jsonPieces(skipped(value[i]) ? null : value[i], inner, depth + 1);
    }
    yield `\n${pad}]`;
    return;
  }
  const entries = Object.entries(value).filter(([, x]) => !skipped(x));
  if (entries.length === 0) {
    yield '{}';
    return;
  }
  yield '{';
  for (const [i, [k, x]] of entries.entries()) {
    yield `${i > 0 ? ',' : ''}\n${inner}${JSON.stringify(k)}: `;
    yield* jsonPieces(x, inner, depth + 1);
  }
  yield `\n${pad}}`;
}

/**
 * The text of `JSON.stringify(value)` (no whitespace), byte for byte, in pieces no larger than one element of the
 * top-level object's arrays (an instance of an assessment).
 */
export function* compactJsonPieces(value: unknown): Generator<string> {
  const skipped = (x: unknown) => x === undefined || typeof x === 'function' || typeof x === 'symbol';
  if (value === null || typeof value !== 'object' || Array.isArray(value) || 'toJSON' in value) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, x] of Object.entries(value)) {
    if (skipped(x)) continue;
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    if (Array.isArray(x)) {
      yield '[';
      for (let i = 0; i < x.length; i++) yield `${i > 0 ? ',' : ''}${JSON.stringify(skipped(x[i]) ? null : x[i])}`;
      yield ']';
    } else yield JSON.stringify(x) ?? 'null';
  }
  yield '}';
}

/**
 * Writes a plan's body in canonical JSON (RFC 8785, core's `writeCanonical`) with `"contentHash"` added as its last
 * member, and returns that hash: the sha256 of the canonical body, which is the file's text without its last member.
 * The canonical text is made once, for the hash and the file together (at 100,000 instances a separate hash and a
 * pretty-printed write each cost about as much as planning). Atomic, as `writeJsonAtomic`.
 */
export async function writeCanonicalPlan(file: string, body: PlanBody): Promise<string> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  return writeAtomically(file, async (fh) => {
    const hash = createHash('sha256');
    let held = '';
    let out = '';
    writeCanonical(body, (piece) => {
      hash.update(piece, 'utf8');
      out += held;
      held = piece;
    });
    // Written after the whole text is hashed: `writeCanonical` is synchronous, the pieces are joined by V8 as ropes.
    const contentHash = hash.digest('hex');
    if (!held.endsWith('}')) throw new Error('canonical plan text does not end an object');
    await fh.write(`${out}${held.slice(0, -1)},"contentHash":"${contentHash}"}\n`);
    return contentHash;
  });
}

/**
 * Writes a JSON document atomically (temporary file, fsync, rename), pretty-printed with a final newline, and returns
 * the sha256 of the bytes written. The text is written in pieces of about 1 MiB as it is produced: an assessment of
 * 100,000 instances is ~300 MB of text, which as one string plus its encoded copy would double the command's peak
 * memory. `compact` leaves out the whitespace (`JSON.stringify(value)`): an assessment is half the size, and half the
 * time to read. With `digestFile` (only for a document validated against its schema just before), the sha256 also goes to
 * `digestFileOf(file)`, written after the document: a crash in between leaves no digest or an old one, and a reader
 * then validates the document in full.
 */
export async function writeJsonAtomic(
  file: string,
  value: unknown,
  options: { digestFile?: boolean; compact?: boolean } = {},
): Promise<string> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const sha256 = await writeAtomically(file, async (fh) => {
    const hash = createHash('sha256');
    const put = async (text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      hash.update(bytes);
      await fh.write(bytes);
    };
    let chunk = '';
    for (const piece of options.compact ? compactJsonPieces(value) : jsonPieces(value)) {
      chunk += piece;
      if (chunk.length >= 1 << 20) {
        await put(chunk);
        chunk = '';
      }
    }
    await put(`${chunk}\n`);
    return hash.digest('hex');
  });
  if (options.digestFile) {
    const digestFile = digestFileOf(file);
    await writeAtomically(digestFile, async (fh) => {
      await fh.write(`${sha256}  ${path.basename(file)}\n`);
    });
  }
  return sha256;
}

/** Writes `file` through a new temporary file: `write`, fsync, close, rename; the temporary file is removed on error. */
async function writeAtomically<T>(file: string, write: (fh: FileHandle) => Promise<T>): Promise<T> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const out = await write(fh);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
    return out;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DocumentKind } from '@imdsv2-cutover/core';
import { CutoverError, parseJsonDocument, parseYamlDocument } from '@imdsv2-cutover/core';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';

/** Input files larger than this are refused before reading (an assessment of 100k instances is far below it). */
export const MAX_INPUT_BYTES = 1024 * 1024 * 1024;

/** Reads a text file the user named; a missing, unreadable or oversized file is a BAD_INPUT error naming it. */
export async function readInputText(file: string, what: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
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
  return readFile(file, 'utf8');
}

/** Reads and validates a JSON document (assessment, plan, probe report). */
export async function readJsonDocument<S extends z.ZodType>(kind: DocumentKind<S>, file: string): Promise<z.infer<S>> {
  return parseJsonDocument(kind, await readInputText(file, kind.label), file);
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
 * Writes a JSON document atomically (temporary file, fsync, rename), pretty-printed with a final newline. The text is
 * written in pieces of about 1 MiB as it is produced: an assessment of 100,000 instances is ~300 MB of text, which as
 * one string plus its encoded copy would double the command's peak memory.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    let chunk = '';
    for (const piece of jsonPieces(value)) {
      chunk += piece;
      if (chunk.length >= 1 << 20) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    await fh.write(`${chunk}\n`);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}

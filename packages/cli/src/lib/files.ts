import { mkdir, readFile, stat } from 'node:fs/promises';
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

/** Writes a JSON document atomically, pretty-printed with a final newline. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeTextAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

import { parseDocument as parseYamlDoc } from 'yaml';
import type { z } from 'zod';
import { CutoverError } from '../errors.js';

/** A readable path such as `instances[3].metadataOptions.httpTokens`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** What a reader expects of a document: the label used in errors and the schema it must match. */
export interface DocumentKind<S extends z.ZodType> {
  /** Human name of the format, e.g. "assessment". */
  label: string;
  /** The value of `schema.name` in files of this kind. */
  schemaName: string;
  /** The version this tool reads. */
  version: number;
  schema: S;
  /** What to run to produce a valid file of this kind (for suggestions). */
  howToMake?: string;
}

/**
 * Validates a parsed document. Errors name the file, the field path, what was expected and what was found, and are
 * `BAD_INPUT` (exit 2). A wrong `schema` header is reported before anything else, because every other message would be
 * noise for a file of another kind or version.
 */
export function validateDocument<S extends z.ZodType>(kind: DocumentKind<S>, data: unknown, file: string): z.infer<S> {
  checkDocumentHeader(kind, data, file);
  const suggestions = kind.howToMake ? [kind.howToMake] : [];
  const result = kind.schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => {
    const at = formatPath(i.path);
    return `${at}: ${i.message} (found ${describeValue(valueAt(data, i.path))})`;
  });
  const more = result.error.issues.length > 5 ? `\n  ... and ${result.error.issues.length - 5} more problems` : '';
  throw new CutoverError('BAD_INPUT', `${file}: invalid ${kind.label}:\n  ${issues.join('\n  ')}${more}`, {
    suggestions,
    details: { file, issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) },
  });
}

/**
 * Checks only what a document says it is: an object whose `schema` header names this kind and version (the first
 * check of `validateDocument`). For a file whose bytes are known to have been validated when they were written.
 */
export function checkDocumentHeader<S extends z.ZodType>(kind: DocumentKind<S>, data: unknown, file: string): void {
  const suggestions = kind.howToMake ? [kind.howToMake] : [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: expected a ${kind.label} document (an object), found ${describeValue(data)}`,
      {
        suggestions,
      },
    );
  }
  const header = (data as { schema?: unknown }).schema as { name?: unknown; version?: unknown } | undefined;
  if (header?.name !== kind.schemaName) {
    throw new CutoverError(
      'SCHEMA_MISMATCH',
      `${file}: this is not the expected ${kind.label} file: schema.name is ${describeValue(header?.name)}, expected "${kind.schemaName}"`,
      { suggestions: [`Check that you passed the right file.`, ...suggestions] },
    );
  }
  if (header.version !== kind.version) {
    throw new CutoverError(
      'SCHEMA_MISMATCH',
      `${file}: ${kind.label} schema version ${describeValue(header.version)} is not supported; this version of imdsv2 reads version ${kind.version}`,
      { suggestions: [`Regenerate the file with this version of imdsv2, or use the imdsv2 version that wrote it.`] },
    );
  }
}

/** Parses JSON text and validates it; a syntax error (a truncated file) names the file and the position. */
export function parseJsonDocument<S extends z.ZodType>(kind: DocumentKind<S>, text: string, file: string): z.infer<S> {
  return validateDocument(kind, parseJsonText(kind, text, file), file);
}

/** Parses the JSON text of a document of `kind` without validating it; a syntax error is BAD_INPUT naming the file. */
export function parseJsonText<S extends z.ZodType>(kind: DocumentKind<S>, text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: not valid JSON (${detail}); the file may be truncated or not a ${kind.label}`,
      {
        suggestions: kind.howToMake ? [kind.howToMake] : [],
        cause: e,
      },
    );
  }
}

/**
 * Parses YAML text (the rollout policy, simulator scenarios) and validates it. YAML syntax errors name the line and
 * column. Aliases are limited so that a hostile file cannot expand into gigabytes (billion laughs).
 */
export function parseYamlDocument<S extends z.ZodType>(kind: DocumentKind<S>, text: string, file: string): z.infer<S> {
  const doc = parseYamlDoc(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    throw new CutoverError('BAD_INPUT', `${file}: not valid YAML${where}: ${first.message.split('\n')[0]}`, {
      suggestions: kind.howToMake ? [kind.howToMake] : [],
      cause: first,
    });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new CutoverError(
      'BAD_INPUT',
      `${file}: YAML could not be read (${e instanceof Error ? e.message : String(e)})`,
      {
        cause: e,
      },
    );
  }
  return validateDocument(kind, data, file);
}

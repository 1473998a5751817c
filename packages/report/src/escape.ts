import { terminalSafe } from '@imdsv2-cutover/core';

/**
 * Escaping per output format. Strings from AWS or hosts are untrusted: a tag value may hold markup, template syntax,
 * formula prefixes or bidi overrides that reorder what a reviewer reads.
 */

/**
 * Makes control and bidi characters visible (`\u202e`, `\x1b`), so untrusted text reads as it is stored. Applied to
 * every untrusted string in every format; HTML/Markdown/CSV escaping come on top.
 */
export const visible = terminalSafe;

/** Returns a copy of `value` with `visible` applied to every string in it (keys included). */
export function visibleDeep<T>(value: T): T {
  if (typeof value === 'string') return visible(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => visibleDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[visible(k)] = visibleDeep(v);
    return out as T;
  }
  return value;
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the JS line terminators are written as
 * `\uXXXX` escapes, so no value can close the script element or open a comment; JSON.parse restores them.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A piece of text split on backtick pairs: `code` pieces were between backticks. */
export interface TextPiece {
  text: string;
  code: boolean;
}

/**
 * Splits text on matched pairs of backticks (`stopped: hold`), the way the tool's own messages mark code. A lone
 * backtick stays in the text. Renderers show code pieces as code, each escaped for its format.
 */
export function splitCode(text: string): TextPiece[] {
  const out: TextPiece[] = [];
  const re = /`([^`]+)`/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) out.push({ text: text.slice(at, m.index), code: false });
    out.push({ text: m[1]!, code: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), code: false });
  return out;
}

/**
 * GitHub-flavoured Markdown text for a paragraph, list item or table cell, escaped only where a character would be
 * markup there, so that it reads cleanly when pasted: bidi and control characters made visible; `<` and entity-like
 * `&` as entities (no raw HTML); backslash-escapes for `\`` `*` `[` `]` `|` `~`, for `_` at a word edge, for a
 * backslash before punctuation, for `@` (no e-mail autolink) and for the `:` of `scheme://` and the `.` of `www.`
 * (no URL autolink); with `start`, a leading `#`, `>`, `-`, `+` or `1.` that would start a block.
 */
export function md(text: string | number | null | undefined, options: { start?: boolean } = {}): string {
  if (text === null || text === undefined) return '';
  let out = visible(String(text))
    .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
    .replace(/&(?=#?\w+;)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/[`*[\]|~@]/g, (c) => `\\${c}`)
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/([a-z][a-z0-9+.-]*):(?=\/\/)/gi, '$1\\:')
    .replace(/\b(www)\./gi, '$1\\.');
  if (options.start)
    out = out.replace(/^(?:>|[#+-](?=\s|$)|\d{1,9}(?=[.)](?:\s|$)))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`));
  return out;
}

/** Inline code in Markdown; backticks in it widen the fence. A `|` (which would end a table cell) falls back to text. */
export function mdCode(text: string): string {
  const safe = visible(text);
  if (safe === '' || safe.includes('|') || /^\s|\s$/.test(safe)) return md(safe);
  const run = Math.max(0, ...[...safe.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(run + 1);
  return run > 0 ? `${fence} ${safe} ${fence}` : `${fence}${safe}${fence}`;
}

/** Markdown for text whose backtick pairs mark code (the tool's messages): code pieces as code spans, the rest as text. */
export function mdRich(text: string, options: { start?: boolean } = {}): string {
  return splitCode(text)
    .map((p, k) => (p.code ? mdCode(p.text) : md(p.text, k === 0 ? options : {})))
    .join('');
}

/**
 * Jira wiki-markup text (Jira Server/Data Center and Jira Cloud's wiki renderer) for a paragraph, list item or table
 * cell: bidi and control characters made visible; `\\` (a line break in Jira) and the `:` of `scheme://` (no autolink)
 * as entities; `{` `}` `[` `]` `|` `!` `#` backslash-escaped everywhere (macros, links, images, cells); `*` `_` `-` `+`
 * `^` `~` `?` escaped at a word edge, where they would start or end a text effect. Jira shows HTML as text.
 */
export function jira(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  const src = visible(String(text));
  const word = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);
  let out = '';
  for (let k = 0; k < src.length; k++) {
    const ch = src[k]!;
    if (ch === '\\') out += '&#92;';
    else if (ch === '&' && /^&#?\w+;/.test(src.slice(k))) out += '&amp;';
    else if (ch === ':' && (src.startsWith('//', k + 1) || /(?:^|\W)(?:mailto|file)$/i.test(src.slice(0, k))))
      out += '&#58;';
    else if (/[{}[\]|!#]/.test(ch)) out += `\\${ch}`;
    else if (/[*_+^~?-]/.test(ch) && !(word(src[k - 1]) && word(src[k + 1]))) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** Jira monospace (`{{x}}`) for an id or a piece of code; its text is escaped as any other. */
export function jiraCode(text: string): string {
  const safe = jira(text);
  return safe === '' ? '' : `{{${safe}}}`;
}

/** Jira text whose backtick pairs mark code. */
export function jiraRich(text: string): string {
  return splitCode(text)
    .map((p) => (p.code ? jiraCode(p.text) : jira(p.text)))
    .join('');
}

/**
 * A CSV cell value guarded against formula injection (OWASP): a cell that starts with `=`, `+`, `-`, `@`, tab or CR is
 * prefixed with a single quote so spreadsheets show it as text. Quoting is left to the CSV writer.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = visible(value);
  return /^[=+\-@\t\r]/.test(value) || /^[=+\-@]/.test(text) ? `'${text}` : text;
}

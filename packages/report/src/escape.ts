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

/**
 * Markdown-safe text for a paragraph or a table cell: bidi and control characters made visible, HTML special
 * characters as entities, Markdown metacharacters backslash-escaped (`:` too, so no URL becomes an autolink), and no
 * line breaks (none survive `visible`).
 */
export function md(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return visible(String(text))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]()#!|~:]/g, (c) => `\\${c}`)
    .replace(/^([-+]|\d+\.)/, '\\$1');
}

/** Inline code in Markdown for a trusted or already-checked string; backticks in it widen the fence. */
export function mdCode(text: string): string {
  const safe = visible(text);
  const fence = safe.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${safe}${fence === '``' ? ' ' : ''}${fence}`;
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

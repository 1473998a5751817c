/**
 * Text from AWS or from hosts (tags, names, process command lines) is untrusted. These helpers make it safe for a
 * terminal: escape sequences cannot move the cursor, recolour or rewrite what the user sees, and bidi overrides cannot
 * reorder it. HTML, Markdown and CSV have their own escaping in the report package.
 */

// C0 controls, DEL, C1 controls (ESC and CSI included), and the Unicode bidi embedding/override/isolate characters.
// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/gu;

/** Replaces every control or bidi character with a visible escape such as `\x1b` or `\u202e`. */
export function terminalSafe(text: string): string {
  return text.replace(unsafe, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Cuts text to at most `max` characters (code points), marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `terminalSafe` then `truncate`: what a table cell should show of an untrusted string. */
export function cell(text: string | undefined | null, max = 60): string {
  if (text === undefined || text === null) return '';
  return truncate(terminalSafe(text), max);
}

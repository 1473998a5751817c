import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';

/**
 * Every `imdsv2 ...` command line the tool shows a user (suggestions in errors, report text, help) or the docs tell
 * them to run names a command that exists, with flags that command has: a suggestion that cannot be followed is a
 * defect. Command lines are found in the source of every package and in the docs.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function files(dir: string, ext: RegExp): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', '__fixtures__', 'schemas', 'images'].includes(e.name))
        out.push(...(await files(p, ext)));
    } else if (ext.test(e.name) && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface Mention {
  file: string;
  line: number;
  text: string;
}

/**
 * `imdsv2 <words and flags>` up to the end of the quoted string, code span or line. In Markdown only code counts (a code
 * span, or a line of a code block that starts with the command), not prose that mentions a command.
 */
function mentions(file: string, text: string): Mention[] {
  const out: Mention[] = [];
  const lines = text.split('\n');
  const markdown = file.endsWith('.md');
  for (const [i, raw] of lines.entries()) {
    const l = markdown ? raw.replace(/^\s*(\$ )?(?=imdsv2 )/, '`').replace(/(?<!`)imdsv2 /g, 'imdsv2\u00a0') : raw;
    // Up to the end of the string or code span, a shell separator (; && |) or a shell comment.
    for (const m of l.matchAll(/(?<![\w/-])imdsv2 ([a-z](?:[^`'"\n|)#;&]|#(?! ))*)/g))
      out.push({ file, line: i + 1, text: m[1]! });
  }
  return out;
}

describe('every imdsv2 command line the tool and its docs show exists', async () => {
  const config = await Config.load(path.join(root, 'packages/cli'));
  const commands = new Map(config.commands.map((c) => [c.id.replaceAll(':', ' '), c]));
  const sources = [
    ...(await files(path.join(root, 'packages'), /\.ts$/)),
    ...(await files(path.join(root, 'docs'), /\.md$/)),
    path.join(root, 'README.md'),
  ];
  const all: Mention[] = [];
  for (const f of sources) all.push(...mentions(path.relative(root, f), await readFile(f, 'utf8')));

  it('finds the command lines it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it('names existing commands and flags', () => {
    const problems: string[] = [];
    for (const m of all) {
      const words = m.text.trim().split(/\s+/);
      // Prose such as "imdsv2 writes" is not a command line: only check where the first word is a command or topic.
      const two = words.slice(0, 2).join(' ');
      const id = commands.has(two) ? two : words[0]!;
      const command = commands.get(id);
      const isTopic = [...commands.keys()].some((k) => k.startsWith(`${words[0]} `));
      if (!command) {
        if (isTopic || /^[a-z]+$/.test(words[0]!) === false) continue;
        if (/^(assess|plan|report|enforce|rollback|status|diff|merge|policy|simulate|demo|probe)\b/.test(words[0]!))
          problems.push(`${m.file}:${m.line}: no command "${id}" in: imdsv2 ${m.text}`);
        continue;
      }
      const negated = Object.entries(command.flags).flatMap(([name, f]) =>
        (f as { allowNo?: boolean }).allowNo ? [`no-${name}`] : [],
      );
      const known = new Set([...Object.keys(command.flags), ...negated, 'help', 'json']);
      const takesArgs = Object.keys(command.args ?? {}).length > 0 || command.strict === false;
      const rest = words.slice(id.split(' ').length);
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i]!;
        const flag = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(w);
        if (flag) {
          if (!known.has(flag[1]!))
            problems.push(`${m.file}:${m.line}: "imdsv2 ${id}" has no --${flag[1]}: imdsv2 ${m.text}`);
          else if (command.flags[flag[1]!]?.type === 'option' && flag[2] === undefined) i++;
        } else if (!takesArgs && /^[a-z]+$/.test(w) && i === 0) {
          problems.push(`${m.file}:${m.line}: "imdsv2 ${id}" takes no argument "${w}": imdsv2 ${m.text}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

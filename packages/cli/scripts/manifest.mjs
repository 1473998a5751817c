#!/usr/bin/env node
// Writes packages/cli/oclif.manifest.json from the built commands (dist/commands), as `oclif manifest` does: oclif then
// reads every command's id, flags and help from this one file, so `imdsv2 --help` and `imdsv2 --version` import no
// command (and no AWS SDK). Run by `pnpm build` after `tsc -b`; `--check` exits 1 when the file is missing or differs
// from the built commands (the unit test `manifest.test.ts` runs it); `--remove` deletes it (`pnpm clean`).
//
// It uses @oclif/core's own Plugin loader (what the `oclif` package's manifest command calls) rather than the `oclif`
// package itself, which needs @oclif/core 5 and brings its own AWS SDK clients for publishing.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'oclif.manifest.json');

/** The manifest of the built commands, as the JSON text written to oclif.manifest.json. */
export async function manifestText() {
  const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  return `${JSON.stringify(plugin.manifest, null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--remove')) {
    rmSync(file, { force: true });
    process.exit(0);
  }
  const text = await manifestText();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing: reported below
    }
    if (current !== text) {
      process.stderr.write(
        `${file} is missing or stale: run \`pnpm build\` (or node packages/cli/scripts/manifest.mjs)\n`,
      );
      process.exit(1);
    }
  } else {
    writeFileSync(file, text);
    process.stderr.write(
      `wrote ${path.relative(process.cwd(), file)} (${Object.keys(JSON.parse(text).commands).length} commands)\n`,
    );
  }
}

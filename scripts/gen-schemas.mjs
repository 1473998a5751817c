#!/usr/bin/env node
// Writes docs/schemas/<format>.schema.json from the zod schemas in packages/core (build first: `pnpm build`).
// A unit test fails when the committed files differ from what this would write.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from '@imdsv2-cutover/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'docs', 'schemas');
await mkdir(outDir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  const file = path.join(outDir, `${name}.schema.json`);
  await writeFile(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${path.relative(root, file)}`);
}

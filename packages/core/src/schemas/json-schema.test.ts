import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from './json-schema.js';

const docs = new URL('../../../../docs/schemas/', import.meta.url);

describe('docs/schemas', () => {
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    it(`${name}.schema.json matches the zod schema (run \`pnpm build && pnpm schemas\` when it does not)`, async () => {
      const onDisk = JSON.parse(await readFile(new URL(`${name}.schema.json`, docs), 'utf8')) as unknown;
      expect(onDisk).toEqual(JSON.parse(JSON.stringify(schema)));
    });
  }
});

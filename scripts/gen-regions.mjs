#!/usr/bin/env node
// Writes packages/core/src/regions/aws-regions.json, the regions and partitions the tool knows, from the partition
// data of the installed AWS SDK (@aws-sdk/core's partitions.json, the SDK's own source of truth for endpoints).
// A unit test (packages/engine/src/connection.test.ts) fails when the committed file differs from what this writes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sdkPartitions } from './lib/sdk-partitions.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'packages/core/src/regions/aws-regions.json');
await writeFile(file, `${JSON.stringify(await sdkPartitions(), null, 2)}\n`);
console.log(`wrote ${path.relative(root, file)}`);

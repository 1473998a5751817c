#!/usr/bin/env node
// Benchmarks the HTML report for a large fleet: file size, render time (model + HTML), and time until the page is
// interactive in headless Chromium (the appendix script has run). Usage: pnpm build && node scripts/bench/report-browser.mjs [count]
/* global document */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const count = Number(process.argv[2] ?? 10_000);
// The workspace root does not depend on these; resolve them as the report package does.
const require = createRequire(new URL('../../packages/report/package.json', import.meta.url));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const { chromium } = (await load('playwright-core')).default;
const { chromiumArgs, chromiumPath, generateFleet } = await load('@imdsv2-cutover/test-utils');
const { buildReportModel, renderReports } = await import('../../packages/report/dist/index.js');

const assessment = generateFleet({ count });
const { contentHash } = await load('@imdsv2-cutover/core');
const th = performance.now();
const assessmentSha256 = contentHash(assessment);
const t0 = performance.now();
const model = buildReportModel(
  { assessment, assessmentSha256 },
  { generatedAt: '2026-11-21T09:00:00.000Z', toolVersion: 'bench' },
);
const t1 = performance.now();
const { html, md, csv } = renderReports(model);
const t2 = performance.now();

const outDir = path.resolve('test-output/report');
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `bench-${count}.html`);
writeFileSync(file, html);

const browser = await chromium.launch({
  executablePath: chromiumPath() ?? '/usr/bin/chromium',
  args: [...chromiumArgs],
});
const page = await browser.newPage();
const start = performance.now();
await page.goto(pathToFileURL(file).href);
await page.waitForSelector('html[data-ready="1"]', { timeout: 30_000 });
const interactive = performance.now() - start;
const t3 = performance.now();
await page.fill('#q', 'blocked');
await page.waitForFunction(() => document.querySelector('#match-count')?.textContent?.includes('match'));
const search = performance.now() - t3;
await browser.close();

const mb = (s) => (Buffer.byteLength(s) / 1024 / 1024).toFixed(2);
const figures = {
  instances: count,
  htmlMB: Number(mb(html)),
  mdKB: Math.round(Buffer.byteLength(md) / 1024),
  csvMB: Number(mb(csv)),
  hashMs: Math.round(t0 - th),
  modelMs: Math.round(t1 - t0),
  renderMs: Math.round(t2 - t1),
  interactiveMs: Math.round(interactive),
  searchMs: Math.round(search),
};
console.log(JSON.stringify(figures, null, 2));
const over = [
  figures.htmlMB > 10 && 'HTML over 10 MB',
  t2 - th > 3000 && 'hash + model + render over 3 s',
  interactive > 3000 && 'interactive over 3 s',
].filter(Boolean);
if (over.length > 0) {
  console.error(`over budget: ${over.join(', ')}`);
  process.exitCode = 1;
}

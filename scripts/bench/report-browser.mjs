#!/usr/bin/env node
// Benchmarks the HTML report for large fleets: file size, render time (model + HTML), and time until the page is
// interactive in headless Chromium (the appendix data unpacked and the first page drawn). Prints one JSON object per
// fleet size and flags what is over budget (HTML over 10 MB, model and render over 10 s, interactive over 10 s).
// Usage: pnpm build && node scripts/bench/report-browser.mjs [count...]   (default: 10000 100000)
/* global document */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const counts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [10_000, 100_000];
// The workspace root does not depend on these; resolve them as the report package does.
const require = createRequire(new URL('../../packages/report/package.json', import.meta.url));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const { chromium } = (await load('playwright-core')).default;
const { chromiumArgs, chromiumPath, generateFleet } = await load('@imdsv2-cutover/test-utils');
const { buildReportModel, renderReports } = await import('../../packages/report/dist/index.js');

const { contentHash } = await load('@imdsv2-cutover/core');
const browser = await chromium.launch({
  executablePath: chromiumPath() ?? '/usr/bin/chromium',
  args: [...chromiumArgs],
});
const outDir = path.resolve('test-output/report');
mkdirSync(outDir, { recursive: true });
let failed = false;
for (const count of counts) {
  const f = await bench(count);
  console.log(JSON.stringify(f, null, 2));
  const over = [
    f.htmlMB > 10 && 'HTML over 10 MB',
    f.modelMs + f.renderMs > 10_000 && 'model + render over 10 s',
    f.interactiveMs > 10_000 && 'interactive over 10 s',
  ].filter(Boolean);
  if (over.length > 0) {
    console.error(`${count}: over budget: ${over.join(', ')}`);
    failed = true;
  }
}
await browser.close();
if (failed) process.exitCode = 1;

/** Renders a generated fleet of `count` instances and measures it. */
async function bench(count) {
  const assessment = generateFleet({ count });
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
  const file = path.join(outDir, `bench-${count}.html`);
  writeFileSync(file, html);
  const page = await browser.newPage();
  const start = performance.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 60_000 });
  const interactive = performance.now() - start;
  const t3 = performance.now();
  await page.locator('#appendix-fold summary').click();
  await page.fill('#q', 'blocked');
  await page.waitForFunction(() => document.querySelector('#match-count')?.textContent?.includes('match'));
  const search = performance.now() - t3;
  await page.close();
  const mb = (s) => Number((Buffer.byteLength(s) / 1024 / 1024).toFixed(2));
  return {
    instances: count,
    htmlMB: mb(html),
    mdKB: Math.round(Buffer.byteLength(md) / 1024),
    csvMB: mb(csv),
    hashMs: Math.round(t0 - th),
    modelMs: Math.round(t1 - t0),
    renderMs: Math.round(t2 - t1),
    interactiveMs: Math.round(interactive),
    searchMs: Math.round(search),
  };
}

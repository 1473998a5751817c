#!/usr/bin/env node
// Runs `imdsv2 demo` into a temporary directory and takes PNGs of its report.html with headless Chromium: the top of
// the report (docs/images/demo-report.png) and its "Execution so far" section with the guard's rollback
// (docs/images/demo-execution.png), both shown in the README. Run after `pnpm build`:
//   node scripts/screenshot-demo.mjs [dir]
// Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH). playwright-core and the Chromium flags come from the workspace
// packages that already depend on them (packages/report, packages/test-utils).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fromReport = createRequire(path.join(root, 'packages/report/package.json'));
const { chromium } = fromReport('playwright-core');
const { chromiumArgs, chromiumPath } = await import(
  pathToFileURL(path.join(root, 'packages/test-utils/dist/index.js')).href
);

const dir = path.resolve(process.argv[2] ?? path.join(root, 'docs/images'));
const executablePath = chromiumPath();
if (!executablePath) {
  console.error('No Chromium found: install it (scripts/install-system-deps.sh) or set CHROMIUM_PATH.');
  process.exit(1);
}
const out = mkdtempSync(path.join(tmpdir(), 'imdsv2-demo-shot-'));
try {
  execFileSync(process.execPath, [path.join(root, 'packages/cli/bin/run.js'), 'demo', '--out', out, '--quiet'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const browser = await chromium.launch({ executablePath, args: [...chromiumArgs] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1700 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(path.join(out, 'report.html')).href);
    await page.waitForSelector('html[data-ready="1"]');
    await page.screenshot({ path: path.join(dir, 'demo-report.png'), fullPage: false });
    await page
      .locator('section[aria-labelledby="execution-h"]')
      .screenshot({ path: path.join(dir, 'demo-execution.png') });
  } finally {
    await browser.close();
  }
  console.log(`Wrote demo-report.png and demo-execution.png in ${path.relative(process.cwd(), dir) || '.'}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

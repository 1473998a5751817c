#!/usr/bin/env node
// Runs `imdsv2 demo` into a temporary directory and pictures its report.html with headless Chromium, as a change board
// would see it: the first screen at 360, 768 and 1280 px (docs/images/report-360.png, report-768.png,
// report-1280.png), the README's pictures (demo-report.png, the top of the report; demo-execution.png, its
// "Execution so far" section with the guard's rollback), and the report printed to A4 PDF with each page as a PNG
// (report-print-NN.png, made by pdftoppm from poppler-utils). Run after `pnpm build`:
//   node scripts/screenshot-demo.mjs [dir]
// Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH) and pdftoppm (scripts/install-system-deps.sh installs both).
// playwright-core and the Chromium flags come from the workspace packages that already depend on them
// (packages/report, packages/test-utils).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
const written = [];
try {
  execFileSync(process.execPath, [path.join(root, 'packages/cli/bin/run.js'), 'demo', '--out', out, '--quiet'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const url = pathToFileURL(path.join(out, 'report.html')).href;
  const browser = await chromium.launch({ executablePath, args: [...chromiumArgs] });
  try {
    const shot = async (width, height, name, section) => {
      const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
      await page.goto(url);
      await page.waitForSelector('html[data-ready="1"]');
      const file = path.join(dir, name);
      if (section) await page.locator(section).screenshot({ path: file });
      else await page.screenshot({ path: file, fullPage: false });
      written.push(name);
      return page;
    };
    // Phone, tablet and desktop first screens.
    await (await shot(360, 780, 'report-360.png')).close();
    await (await shot(768, 1024, 'report-768.png')).close();
    await (await shot(1280, 900, 'report-1280.png')).close();
    // The README's pictures.
    await (await shot(1280, 1700, 'demo-report.png')).close();
    await (await shot(1280, 1700, 'demo-execution.png', 'section[aria-labelledby="execution-h"]')).close();
    // Printed: A4 through the DevTools protocol, as the browser's Print does.
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('html[data-ready="1"]');
    const pdf = path.join(out, 'report.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    await page.close();
    for (const f of readdirSync(dir)) if (/^report-print-\d+\.png$/.test(f)) rmSync(path.join(dir, f));
    execFileSync('pdftoppm', ['-r', '40', '-png', pdf, path.join(dir, 'report-print')]);
    written.push(...readdirSync(dir).filter((f) => /^report-print-\d+\.png$/.test(f)));
  } finally {
    await browser.close();
  }
  console.log(`Wrote ${written.join(', ')} in ${path.relative(process.cwd(), dir) || '.'}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

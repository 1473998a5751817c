import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromiumArgs, chromiumPath, describePrivileged, generateFleet } from '@imdsv2-cutover/test-utils';
import { HOSTILE, demoFleet } from './__fixtures__/fleet.js';
import { buildReportModel, renderHtml } from './index.js';

const outDir = path.resolve(import.meta.dirname, '../../../test-output/report');
const opts = { generatedAt: '2026-11-21T09:00:00.000Z', toolVersion: '0.1.0', startDate: '2026-12-01' };

/** Loads a report from a file:// URL and records everything that would mean the page escaped its sandbox. */
async function open(browser: Browser, html: string, name: string, width = 1280) {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name);
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const seen = { dialogs: [] as string[], requests: [] as string[], errors: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== url) seen.requests.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  await page.goto(url);
  // Sized for a loaded 2-core machine, where Chromium can take tens of seconds to lay out a large report.
  await page.waitForSelector('html[data-ready="1"]', { timeout: 60_000 });
  return { page, seen };
}

const rowCount = (page: Page) => page.locator('#instances tbody tr').count();

/** Opens every fold, so that what a reader can expand is measured too. */
const openFolds = (page: Page) =>
  page.evaluate('document.querySelectorAll("details").forEach(function (d) { d.open = true; })');

/** Instance ids (code.id) drawn on more than one line, and how far the page scrolls sideways. */
async function layoutFaults(page: Page): Promise<{ overflow: number; broken: string[]; ids: number }> {
  return page.evaluate<{ overflow: number; broken: string[]; ids: number }>(`(() => {
    const ids = [...document.querySelectorAll('code.id')].filter((e) => e.getClientRects().length > 0);
    const broken = ids.filter((e) => {
      const rects = [...e.getClientRects()];
      const lineHeight = parseFloat(getComputedStyle(e).lineHeight) || 20;
      return rects.length > 1 || rects[0].height > lineHeight * 1.5;
    }).map((e) => e.textContent);
    const d = document.documentElement;
    return { overflow: d.scrollWidth - d.clientWidth, broken, ids: ids.length };
  })()`);
}

describePrivileged('the HTML report in headless Chromium', { chromium: true }, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [...chromiumArgs],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('runs no hostile script, opens no dialog, sends no request, and its own script still works', async () => {
    const f = demoFleet({ hostile: true });
    const html = renderHtml(
      buildReportModel({ assessment: f.assessment, plan: f.plan, journal: f.journalSummary }, opts),
    );
    const { page, seen } = await open(browser, html, 'hostile.html');
    // Click through what a reviewer would touch, so that any injected handler would get its chance to fire.
    await openFolds(page);
    await page.locator('#instances thead th button').first().click();
    await page.locator('#q').fill('pwned');
    await page.mouse.move(300, 300);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(seen.dialogs).toEqual([]);
    expect(seen.requests).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(await page.locator('img, iframe, object, embed').count()).toBe(0);
    // The search finds exactly the instances whose hostile strings mention "pwned".
    expect(await rowCount(page)).toBe(HOSTILE.filter((s) => s.includes('pwned')).length);
    expect(await page.locator('#instances tbody').innerText()).toContain('<script>window.__pwned=1</script>');
    // The new fields (overview, execution, held groups) show hostile strings as text too.
    expect(await page.locator('#ov-happened').innerText()).toMatch(/The guard caught i-/);
    expect(await page.locator('#held').innerText()).toContain('"><img src=x onerror="window.__pwned=1">');
    await page.pdf({ path: path.join(outDir, 'hostile.pdf'), format: 'A4' });
    expect(seen.dialogs).toEqual([]);
    expect(seen.requests).toEqual([]);
    await page.close();
  }, 180_000);

  it('filters, sorts and pages the appendix, and renders the fixture fleet for a screenshot', async () => {
    const f = demoFleet();
    const html = renderHtml(
      buildReportModel({ assessment: f.assessment, plan: f.plan, journal: f.journalSummary }, opts),
    );
    const { page, seen } = await open(browser, html, 'report.html');
    await openFolds(page);
    expect(await rowCount(page)).toBe(40);
    await page.selectOption('#status-filter', 'blocked');
    const blocked = f.assessment.instances.filter((i) => i.readiness.status === 'blocked').length;
    expect(await rowCount(page)).toBe(blocked);
    await page.selectOption('#status-filter', '');
    await page.locator('#q').fill('billing');
    const billing = f.assessment.instances.filter((i) => JSON.stringify(i.tags).includes('billing')).length;
    expect(await rowCount(page)).toBe(billing);
    expect(await page.locator('#match-count').innerText()).toBe(`${billing} of 40 instance(s) match`);
    await page.locator('#q').fill('');
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(outDir, 'report.png'), fullPage: false });
    await page.screenshot({ path: path.join(outDir, 'report-full.png'), fullPage: true });
    await page.pdf({ path: path.join(outDir, 'report.pdf'), format: 'A4', printBackground: true });
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([]);
    await page.close();
  }, 180_000);

  it('pages through a fleet larger than the inline rows from the embedded JSON', async () => {
    const html = renderHtml(buildReportModel({ assessment: generateFleet({ count: 2500 }) }, opts));
    const { page } = await open(browser, html, 'large.html');
    await openFolds(page);
    expect(await rowCount(page)).toBe(100);
    expect(await page.locator('#page-info').innerText()).toBe('page 1 of 25');
    await page.locator('#q').fill('i-000010000000009c3'); // the 2500th instance, not among the inline rows
    expect(await rowCount(page)).toBe(1);
    await page.close();
  }, 180_000);

  it.each([360, 768, 1280])(
    'at %i px: no sideways scroll, no instance id broken across lines, execution above the held instances',
    async (width) => {
      for (const hostile of [false, true]) {
        const f = demoFleet({ hostile });
        const html = renderHtml(
          buildReportModel({ assessment: f.assessment, plan: f.plan, journal: f.journalSummary }, opts),
        );
        const { page, seen } = await open(browser, html, `layout-${width}-${hostile}.html`, width);
        await openFolds(page);
        const faults = await layoutFaults(page);
        expect(faults.ids).toBeGreaterThan(40);
        expect(faults.broken).toEqual([]);
        expect(faults.overflow).toBeLessThanOrEqual(0);
        const y = async (sel: string) => (await page.locator(sel).boundingBox())!.y;
        expect(await y('#overview')).toBeLessThan(await y('#execution'));
        expect(await y('#execution')).toBeLessThan(await y('#held'));
        // The first screen holds the overview's four answers at desktop width.
        if (width === 1280) expect(await y('#ov-happened')).toBeLessThan(900);
        expect(seen.errors).toEqual([]);
        await page.close();
      }
    },
    180_000,
  );
});

describePrivileged('the HTML report printed by headless Chromium', { chromium: true, pdftotext: true }, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath(), args: [...chromiumArgs] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('prints every appendix row the heading counts, with real repeated headers, then restores the screen view', async () => {
    // More instances than the static rows (1,000) and than a screen page (100).
    const count = 1200;
    const assessment = generateFleet({ count });
    const html = renderHtml(buildReportModel({ assessment }, opts));
    const { page, seen } = await open(browser, html, 'print.html');
    expect(await page.locator('#appendix-h').innerText()).toBe(
      `Appendix: all ${count.toLocaleString('en-US')} instances`,
    );
    const pdf = path.join(outDir, 'print.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    expect(await page.getAttribute('html', 'data-printed')).toBe('1');
    expect(await page.getAttribute('html', 'data-print-rows')).toBe(String(count));
    // Back on screen: one page of rows, the fold closed again.
    expect(await rowCount(page)).toBe(100);
    expect(await page.locator('#appendix-fold').getAttribute('open')).toBeNull();
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const missing = assessment.instances.map((i) => i.instanceId).filter((id) => !text.includes(id));
    expect(missing).toEqual([]);
    // Every appendix page repeats the column labels (Chromium left repeated headers with buttons blank).
    const all = text.split('\f');
    const first = all.findIndex((p) => p.includes('Appendix: all'));
    const pages = all.slice(first + 1).filter((p) => /i-0000/.test(p));
    expect(pages.length).toBeGreaterThan(3);
    for (const p of pages) expect(p).toMatch(/Instance\s+Name\s+Account\s+Region\s+Readiness/);
    expect(seen.errors).toEqual([]);
    await page.close();
  }, 180_000);
});

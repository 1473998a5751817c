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
async function open(browser: Browser, html: string, name: string) {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name);
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
  await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
  return { page, seen };
}

const rowCount = (page: Page) => page.locator('#instances tbody tr').count();

describePrivileged('the HTML report in headless Chromium', { chromium: true }, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [...chromiumArgs],
    });
  }, 60_000);
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
    await page.close();
  });

  it('filters, sorts and pages the appendix, and renders the fixture fleet for a screenshot', async () => {
    const f = demoFleet();
    const html = renderHtml(
      buildReportModel({ assessment: f.assessment, plan: f.plan, journal: f.journalSummary }, opts),
    );
    const { page, seen } = await open(browser, html, 'report.html');
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
  });

  it('pages through a fleet larger than the inline rows from the embedded JSON', async () => {
    const html = renderHtml(buildReportModel({ assessment: generateFleet({ count: 2500 }) }, opts));
    const { page } = await open(browser, html, 'large.html');
    expect(await rowCount(page)).toBe(100);
    expect(await page.locator('#page-info').innerText()).toBe('page 1 of 25');
    await page.locator('#q').fill('i-000010000000009c3'); // the 2500th instance, not among the inline rows
    expect(await rowCount(page)).toBe(1);
    await page.close();
  });
});

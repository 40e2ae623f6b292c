// Drives the web console in Debian's Chromium with playwright-core (from console/node_modules,
// found through NODE_PATH), as a person would: opens /console/, opens a function, invokes it from
// the form, and waits for the invocation in the chart and in the live log tail. Prints what it saw
// as one JSON document; tests/integration/test_console.py decides whether that is right.
//
// Usage: node console_browser.cjs <endpoint> <function> <payload JSON> <screenshot folder> <user data dir>
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [endpoint, name, payload, shots, profile] = process.argv.slice(2);
const WAIT_MS = 60000; // a bound on each wait, not a measurement: the test fails if one is reached

async function main() {
  const seen = { requests: [], errors: [] };
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.LAMINA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('request', (request) => seen.requests.push(request.url()));
    page.on('pageerror', (error) => seen.errors.push(String(error)));
    page.on('console', (message) => { if (message.type() === 'error') seen.errors.push(message.text()); });

    await page.goto(`${endpoint}/console/`);
    const list = page.locator('table[data-testid="functions"]');
    await list.locator(`a:text-is("${name}")`).waitFor({ timeout: WAIT_MS });
    seen.functions = await list.locator('tbody tr td:first-child').allInnerTexts();
    await page.screenshot({ path: path.join(shots, 'functions.png') });

    await list.locator(`a:text-is("${name}")`).click();
    const chart = page.locator('figure[data-chart="invocations"]');
    await chart.waitFor({ timeout: WAIT_MS });
    seen.invocationsBefore = Number(await chart.getAttribute('data-total'));
    seen.charts = await page.locator('figure.chart').evaluateAll((figures) =>
      figures.map((f) => ({ id: f.dataset.chart, canvas: !!f.querySelector('canvas') })));

    await page.locator('[data-testid="invoke-form"] textarea').fill(payload);
    await page.locator('[data-testid="invoke-form"] button[type="submit"]').click();
    const result = page.locator('[data-testid="invoke-result"]');
    await result.waitFor({ timeout: WAIT_MS });
    seen.requestId = await result.getAttribute('data-request-id');
    seen.result = await result.locator('pre.payload-out').innerText();

    await page.waitForFunction((before) => {
      const figure = document.querySelector('figure[data-chart="invocations"]');
      return Number(figure.dataset.total) > before;
    }, seen.invocationsBefore, { timeout: WAIT_MS });
    seen.invocationsAfter = Number(await chart.getAttribute('data-total'));
    seen.coldStarts = Number(await page.locator('figure[data-chart="cold-starts"]').getAttribute('data-total'));

    const logs = page.locator('pre[data-testid="logs"]');
    await page.waitForFunction((id) => document.querySelector('pre[data-testid="logs"]').innerText.includes(`REPORT RequestId: ${id}`),
      seen.requestId, { timeout: WAIT_MS });
    seen.logs = await logs.innerText();
    await page.screenshot({ path: path.join(shots, 'function.png'), fullPage: true });

    // The payload editor refuses what is not JSON.
    await page.locator('[data-testid="invoke-form"] textarea').fill('{"unclosed": ');
    seen.invalidDisabled = await page.locator('[data-testid="invoke-form"] button[type="submit"]').isDisabled();
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});

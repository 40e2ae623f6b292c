// Drives the web console's cells in Debian's Chromium with playwright-core (NODE_PATH finds it), as
// an operator would: reads the overview of every account and region on the first page, picks
// another account's cell in the selector, reloads (the address keeps the cell), opens one of that
// cell's functions and invokes it from the form. Prints what it saw as one JSON document;
// tests/integration/test_operator.py decides whether that is right.
//
// Usage: node console_cells_browser.cjs <endpoint> <cell ACCOUNT/REGION> <function> <screenshot folder> <user data dir>
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [endpoint, cell, name, shots, profile] = process.argv.slice(2);
const WAIT_MS = 60000; // a bound on each wait, not a measurement: the test fails if one is reached

async function functionNames(page) {
  return page.locator('table[data-testid="functions"] tbody tr td:first-child').allInnerTexts();
}

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
    const overview = page.locator('table[data-testid="overview"]');
    await overview.locator(`tr[data-cell="${cell}"]`).waitFor({ timeout: WAIT_MS });
    seen.overview = await overview.locator('tr[data-cell]').evaluateAll((rows) => rows.map((row) => ({
      cell: row.dataset.cell, cells: [...row.querySelectorAll('td, th')].map((c) => c.innerText.trim()) })));
    await page.locator('table[data-testid="functions"] tbody tr').first().waitFor({ timeout: WAIT_MS });
    seen.defaultFunctions = await functionNames(page);
    seen.options = await page.locator('select[data-testid="cell"] option').evaluateAll((os) => os.map((o) => o.value));

    await page.locator('select[data-testid="cell"]').selectOption(cell);
    await page.waitForFunction((want) => location.hash === `#/cells/${want}`, cell, { timeout: WAIT_MS });
    await page.locator(`table[data-testid="functions"] a:text-is("${name}")`).waitFor({ timeout: WAIT_MS });
    seen.cellFunctions = await functionNames(page);
    await page.screenshot({ path: path.join(shots, 'cells.png'), fullPage: true });

    await page.reload();  // the cell is in the address: a reload (or a shared link) keeps it
    await page.locator(`table[data-testid="functions"] a:text-is("${name}")`).waitFor({ timeout: WAIT_MS });
    seen.afterReload = { hash: await page.evaluate(() => location.hash),
                         selected: await page.locator('select[data-testid="cell"]').inputValue(),
                         functions: await functionNames(page) };

    await page.locator(`table[data-testid="functions"] a:text-is("${name}")`).click();
    const chart = page.locator('figure[data-chart="invocations"]');
    await chart.waitFor({ timeout: WAIT_MS });
    seen.functionHash = await page.evaluate(() => location.hash);
    seen.invocationsBefore = Number(await chart.getAttribute('data-total'));
    await page.locator('[data-testid="invoke-form"] textarea').fill('{"from": "the console"}');
    await page.locator('[data-testid="invoke-form"] button[type="submit"]').click();
    const result = page.locator('[data-testid="invoke-result"]');
    await result.waitFor({ timeout: WAIT_MS });
    seen.result = await result.locator('pre.payload-out').innerText();
    await page.waitForFunction((before) => Number(document.querySelector('figure[data-chart="invocations"]').dataset.total) > before,
      seen.invocationsBefore, { timeout: WAIT_MS });
    seen.invocationsAfter = Number(await chart.getAttribute('data-total'));
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});

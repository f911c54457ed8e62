// sync.test.mjs - a sync seen from the console: the admin signs in, opens
// the demo pipeline (tests/e2e/demo.sh set it up, with a tick loop running),
// clicks "Sync now", lands on the run's page and watches it without
// reloading: the page updates itself until the status is success and the
// progress bar is at 100%. The run shows per-table statistics (every demo
// table, all rows loaded) and its log; the pipeline page then lists the run.
// Screenshots of every step go to tests/e2e/out/sync-NN-*.png.
//
// Needs SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD and the demo
// pipeline (tests/run.sh e2e provides both).

const DEMO_TABLES = {
    'public.customers': 2000,
    'public.orders': 5000,
    'public.events': 8000,
    'public.page_views': 3000,
    'public.countries': 30,
};
const RUN_TIMEOUT_MS = 45000;

const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));

async function signIn(page, assert, email, password) {
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
        page.waitForURL((u) => new URL(u).pathname === '/'),
        page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    assert.equal(new URL(page.url()).pathname, '/', `after sign-in: ${page.url()}`);
}

export default async function syncFlow({ baseURL, newPage, screenshot, env, assert }) {
    assert.ok(env.adminEmail && env.adminPassword,
        'SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD are not set' +
        ' (tests/run.sh e2e sets them)');
    const page = await newPage();
    const serverErrors = [];
    page.on('response', (r) => {
        if (r.url().startsWith(baseURL) && r.status() >= 500) {
            serverErrors.push(`${r.status()} ${r.url()}`);
        }
    });

    // 1. Sign in; the demo pipeline is in the list.
    await signIn(page, assert, env.adminEmail, env.adminPassword);
    await page.goto('/pipelines');
    const link = page.getByRole('link', { name: 'demo_shop', exact: true });
    assert.equal(await link.count(), 1,
        'the demo pipeline demo_shop is listed (tests/e2e/demo.sh sets it up)');
    await screenshot('01-pipelines', page);

    // 2. Its page offers "Sync now".
    await link.click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    const pipelineURL = page.url();
    await page.getByRole('heading', { name: 'demo_shop' }).waitFor();
    const syncNow = page.getByTestId('sync-now');
    assert.equal(await syncNow.innerText(), 'Sync now');
    await screenshot('02-pipeline', page);

    // 3. Sync now: a queued run, and its page.
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' &&
            /\/pipelines\/[0-9a-f-]{36}\/runs$/.test(new URL(r.url()).pathname)),
        syncNow.click(),
    ]);
    assert.equal(res.status(), 303, `POST .../runs answered ${res.status()}`);
    await page.waitForURL(/\/runs\/[0-9]+$/);
    const runURL = page.url();
    const runId = new URL(runURL).pathname.split('/').pop();
    await page.getByRole('heading', { name: `Run ${runId}` }).waitFor();
    const status = page.getByTestId('status');
    const first = (await status.innerText()).trim();
    assert.ok(['queued', 'running', 'success'].includes(first),
        `a fresh run is queued, running or (already) done, not "${first}"`);
    await screenshot('03-run-started', page);

    // 4. Watch it, without reloading: the page polls and updates itself.
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    const seen = new Set([first]);
    const bar = page.locator('progress[data-run-bar]');
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    let shotRunning = false;
    for (;;) {
        const st = (await status.innerText()).trim();
        seen.add(st);
        if (st === 'running' && !shotRunning) {
            await screenshot('04-run-running', page);
            shotRunning = true;
        }
        if (!['queued', 'running'].includes(st)) break;
        assert.ok(Date.now() < deadline,
            `run ${runId} still ${st} after ${RUN_TIMEOUT_MS} ms (is a tick running?)`);
        await page.waitForTimeout(250);
    }
    // The finished run's page (runs.js reloads it once at the end).
    await page.waitForLoadState('load');
    await page.waitForFunction(() =>
        document.querySelector('#run-live')?.getAttribute('data-active') === 'false');
    const final = (await status.innerText()).trim();
    if (final !== 'success') {
        const why = page.getByTestId('run-error');
        assert.fail(`run ${runId} ended ${final}` +
            `${await why.count() ? `: ${await why.innerText()}` : ''}`);
    }
    assert.equal(await bar.getAttribute('value'), '100', 'the progress bar is full');
    assert.match(await page.getByTestId('progress').innerText(), /100\s*%/);
    if (first !== 'success') {
        assert.ok(navigations <= 1,
            `the page updated itself (at most runs.js's one final reload), ` +
            `not ${navigations} navigations`);
    }
    await screenshot('05-run-done', page);

    // 5. Per-table statistics: every demo table, every row loaded.
    const rows = await page.getByTestId('run-tables').locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.innerText.trim())));
    const byTable = Object.fromEntries(rows.map((c) => [c[0].split(/\s/)[0], c]));
    assert.deepEqual(Object.keys(byTable).sort(), Object.keys(DEMO_TABLES).sort(),
        `the run's tables: ${Object.keys(byTable)}`);
    for (const [table, n] of Object.entries(DEMO_TABLES)) {
        const c = byTable[table];
        assert.equal(c[2], 'success', `${table} status`);
        assert.equal(digits(c[3]), n, `${table} extracted`);
        assert.equal(digits(c[5]), n, `${table} loaded`);
        assert.equal(digits(c[6]), 0, `${table} failed`);
    }
    assert.match(byTable['public.orders'][1], /incremental/);
    assert.match(byTable['public.countries'][1], /full/);
    assert.match(await page.getByTestId('rows').innerText(), /18,?030 loaded/);

    // 6. The log (in 05-run-done.png too).
    const logLines = await page.getByTestId('logs').locator('li').allInnerTexts();
    assert.ok(logLines.length >= 2, `log lines: ${logLines.length}`);
    assert.ok(logLines.some((l) => /orders/.test(l)), 'the log mentions a table');

    // 7. The pipeline page lists the run.
    await page.goto(pipelineURL);
    const runsCard = page.getByTestId('pipeline-runs');
    const runLink = runsCard.getByRole('link', { name: runId, exact: true });
    assert.equal(await runLink.count(), 1, `run ${runId} is listed on the pipeline page`);
    assert.match(await runLink.locator('xpath=ancestor::tr').innerText(), /success/);
    await screenshot('06-pipeline-after', page);

    assert.deepEqual(serverErrors, [], `server errors: ${serverErrors}`);
}

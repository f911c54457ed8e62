// schedule.test.mjs - schedules in a real browser: the admin opens the demo
// pipeline's edit page, picks the "Every 5 minutes" preset and previews it
// (the next fire times, five minutes apart; nothing saved). Then a pipeline
// of its own (demo source, one table, its own target schema): created
// manual-only, given the preset on its edit page, saved; its page shows the
// next fire times. The test moves its next_run_at into the past (psql on
// SLUICE_E2E_DATABASE_URL) and wakes the tick loop; a run with trigger
// "scheduled" appears on the runs page and succeeds, the pipeline's next
// fire time moves on, and the dashboard shows the run. The pipeline is
// paused at the end, so it stays quiet during the other tests.
//
// The scheduled run is not the demo pipeline's: sync.test.mjs needs the
// demo pipeline's first run to load every row, so this test saves nothing
// on it. Screenshots: tests/e2e/out/schedule-NN-*.png.
//
// Needs SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD, the demo
// pipeline with a tick loop, and SLUICE_E2E_DATABASE_URL (tests/run.sh e2e
// provides them all).
import { execFileSync } from 'node:child_process';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const RUN_APPEARS_MS = 20000;
const RUN_FINISHES_MS = 20000;
const EVERY_5 = { label: 'Every 5 minutes (*/5 * * * *)' };

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

// The response to the POST a click causes, once its page has loaded.
async function submit(page, button, pathRe) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' &&
            pathRe.test(new URL(r.url()).pathname)),
        button.click(),
    ]);
    await page.waitForLoadState('load');
    return res;
}

async function flash(page) {
    return (await page.locator('.flash').first().innerText()).trim();
}

function psql(url, sql) {
    return execFileSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
        { encoding: 'utf8', timeout: 10000 }).trim();
}

// Fire times shown in a fires block ("2026-05-01 10:05 UTC (+00:00)") as
// epoch minutes; each a multiple of 5 minutes and 5 minutes after the last.
async function checkFires(assert, block, what) {
    const times = await block.locator('time').allInnerTexts();
    assert.ok(times.length >= 3, `${what}: three next fire times, not ${times.length}: ${times}`);
    const mins = times.map((t) => {
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}) UTC/.exec(t.trim());
        assert.ok(m, `${what}: a fire time as "YYYY-MM-DD HH:MM UTC": "${t}"`);
        return Date.parse(`${m[1]}T${m[2]}:${m[3]}:00Z`) / 60000;
    });
    for (const [i, m] of mins.entries()) {
        assert.equal(m % 5, 0, `${what}: ${times[i]} is on a 5-minute mark`);
        if (i > 0) assert.equal(m - mins[i - 1], 5, `${what}: ${times[i]} comes 5 minutes later`);
    }
    const now = Date.now() / 60000;
    assert.ok(mins[0] > now - 1 && mins[0] <= now + 5,
        `${what}: the first fire time ${times[0]} is within the next 5 minutes`);
    return times;
}

export default async function scheduleFlow({ baseURL, newPage, screenshot, env, assert }) {
    assert.ok(env.adminEmail && env.adminPassword,
        'SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD are not set (tests/run.sh e2e)');
    assert.ok(env.databaseURL, 'SLUICE_E2E_DATABASE_URL is not set (tests/run.sh e2e sets it)');
    const page = await newPage({ viewport: { width: 1280, height: 900 } });
    const serverErrors = [];
    page.on('response', (r) => {
        if (r.url().startsWith(baseURL) && r.status() >= 500) {
            serverErrors.push(`${r.status()} ${r.url()}`);
        }
    });
    await signIn(page, assert, env.adminEmail, env.adminPassword);

    // 1. The demo pipeline's edit page: a preset, previewed, not saved.
    await page.goto('/pipelines');
    await page.getByRole('link', { name: 'demo_shop', exact: true }).click();
    await page.waitForURL(new RegExp(`/pipelines/${UUID}$`));
    const demoVersion = psql(env.databaseURL,
        "SELECT version FROM sluice.pipelines WHERE name = 'demo_shop' AND deleted_at IS NULL");
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { name: 'Edit demo_shop' }).waitFor();
    await page.getByLabel('Runs', { exact: true }).selectOption(EVERY_5);
    let res = await submit(page, page.getByRole('button', { name: 'Preview schedule' }),
        new RegExp(`^/pipelines/${UUID}$`));
    assert.equal(res.status(), 200, `the preview answered ${res.status()}`);
    assert.equal(await page.getByLabel('Runs', { exact: true }).inputValue(), '5m',
        'the preset stays chosen');
    await checkFires(assert, page.locator('.fires'), 'demo preview');
    await screenshot('01-demo-preview', page);
    assert.equal(psql(env.databaseURL, "SELECT version FROM sluice.pipelines" +
        " WHERE name = 'demo_shop' AND deleted_at IS NULL"), demoVersion,
        'a preview saves nothing');

    // 2. A pipeline of our own: the demo source, one table, its own schema.
    const name = `e2e_scheduled_${Date.now().toString(36)}`;
    await page.goto('/pipelines/new');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Source', { exact: true }).selectOption({ label: 'Demo shop' });
    await page.getByLabel('Runs', { exact: true }).selectOption('manual');
    await page.getByLabel('Target schema', { exact: true }).fill('e2e_scheduled');
    res = await submit(page, page.getByRole('button', { name: 'Create pipeline' }),
        /^\/pipelines$/);
    assert.equal(res.status(), 303, `creating the pipeline answered ${res.status()}`);
    await page.waitForURL(new RegExp(`/pipelines/${UUID}/edit#tables$`));
    const pipelineURL = page.url().replace(/\/edit#tables$/, '');
    const pipelineId = pipelineURL.split('/').pop();
    const item = page.locator('#add ul.picker label.check')
        .filter({ hasText: 'public.countries' });
    assert.equal(await item.count(), 1, 'the picker offers public.countries');
    await item.locator('input[type="checkbox"]').check();
    res = await submit(page, page.getByRole('button', { name: 'Add tables' }),
        new RegExp(`^/pipelines/${UUID}/tables/add$`));
    assert.equal(res.status(), 303, `adding the table answered ${res.status()}`);
    assert.match(await flash(page), /public\.countries/);

    // 3. The preset on its edit page: preview, then save; its page shows the fires.
    const runs = page.getByLabel('Runs', { exact: true });
    assert.equal(await runs.inputValue(), 'manual', 'created manual only');
    assert.match(await page.locator('.fires').innerText(), /Manual only/);
    await runs.selectOption(EVERY_5);
    res = await submit(page, page.getByRole('button', { name: 'Preview schedule' }),
        new RegExp(`^/pipelines/${UUID}$`));
    assert.equal(res.status(), 200);
    await checkFires(assert, page.locator('.fires'), 'preview');
    await screenshot('02-preset-preview', page);
    res = await submit(page, page.getByRole('button', { name: 'Save', exact: true }),
        new RegExp(`^/pipelines/${UUID}$`));
    assert.equal(res.status(), 303, `saving answered ${res.status()}`);
    assert.equal(page.url(), pipelineURL);
    assert.match(await flash(page), new RegExp(`Pipeline "${name}" saved \\(version \\d+\\)\\.`));
    const facts = await page.locator('dl.facts').innerText();
    assert.match(facts, /Every 5 minutes/, `the schedule is shown: ${facts}`);
    const fires = await checkFires(assert, page.getByTestId('fires'), 'pipeline page');
    const nextAt = Number(psql(env.databaseURL, 'SELECT extract(epoch FROM next_run_at)::bigint' +
        ` FROM sluice.pipelines WHERE id = '${pipelineId}'`));
    const firstShown = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2})/.exec(fires[0]);
    assert.equal(nextAt, Date.parse(`${firstShown[1]}T${firstShown[2]}:${firstShown[3]}:00Z`) /
        1000, 'next_run_at is the first fire time shown');
    await screenshot('03-pipeline-scheduled', page);

    // 4. Its fire time comes (moved into the past), the tick loop is woken.
    psql(env.databaseURL, "UPDATE sluice.pipelines SET next_run_at = now() - interval '1 minute'" +
        ` WHERE id = '${pipelineId}'; SELECT pg_notify('sluice_runs', '')`);
    const listURL = `/runs?pipeline=${pipelineId}`;
    let row = null;
    for (const deadline = Date.now() + RUN_APPEARS_MS; ;) {
        await page.goto(listURL);
        const rows = page.locator('table[data-testid="runs"] tbody tr')
            .filter({ hasText: '(scheduled)' });
        if (await rows.count() > 0) {
            row = rows.first();
            break;
        }
        assert.ok(Date.now() < deadline, `no scheduled run after ${RUN_APPEARS_MS} ms` +
            ' (is the tick loop running, and does it queue due schedules?)');
        await page.waitForTimeout(500);
    }
    const runId = await row.getAttribute('data-id');
    await screenshot('04-scheduled-run-listed', page);
    for (const deadline = Date.now() + RUN_FINISHES_MS; ;) {
        const st = psql(env.databaseURL,
            `SELECT status FROM sluice_runs.runs WHERE id = ${runId}`);
        if (!['queued', 'running'].includes(st)) {
            assert.equal(st, 'success', `the scheduled run ${runId} ended ${st}`);
            break;
        }
        assert.ok(Date.now() < deadline, `run ${runId} still ${st} after ${RUN_FINISHES_MS} ms`);
        await page.waitForTimeout(500);
    }
    await page.goto(listURL);
    const done = page.locator(`table[data-testid="runs"] tbody tr[data-id="${runId}"]`);
    assert.equal((await done.getByTestId('status').innerText()).trim(), 'success');
    assert.match(await done.innerText(), /\(scheduled\)/);
    assert.match(await done.innerText(), /schedule/, 'requested by the schedule');
    assert.match(await done.locator('td').last().innerText(), /^30$/, 'the 30 countries');
    await screenshot('05-scheduled-run-done', page);
    const moved = Number(psql(env.databaseURL, 'SELECT extract(epoch FROM next_run_at)::bigint' +
        ` FROM sluice.pipelines WHERE id = '${pipelineId}'`));
    assert.ok(moved > Date.now() / 1000 && moved % 300 === 0,
        `the next fire time moved on to a future 5-minute mark: ${moved}`);

    // 5. The pipeline page lists it; then pause the pipeline.
    await page.goto(pipelineURL);
    const card = page.getByTestId('pipeline-runs');
    assert.equal(await card.getByRole('link', { name: runId, exact: true }).count(), 1,
        `run ${runId} is on the pipeline page`);
    res = await submit(page, page.getByRole('button', { name: 'Pause', exact: true }),
        new RegExp(`^/pipelines/${UUID}/pause$`));
    assert.equal(res.status(), 303);
    assert.equal((await page.getByTestId('status').innerText()).trim(), 'paused');

    // 6. The dashboard: the run among the latest, the day's bars, no errors.
    await page.goto('/');
    const recent = page.getByTestId('recent-runs');
    assert.equal(await recent.locator(`tr[data-id="${runId}"]`).count(), 1,
        'the scheduled run is among the latest runs');
    const rowsCard = await page.getByTestId('card-rows').locator('.stat-value').innerText();
    assert.ok(Number(rowsCard.replace(/,/g, '')) >= 30, `rows synced in 24 h: ${rowsCard}`);
    assert.ok(await page.locator('[data-testid="chart-rows"] rect.bar').count() >= 1,
        'the rows chart has today\'s bar');
    assert.ok(await page.locator('[data-testid="chart-outcomes"] rect.bar').count() >= 1,
        'the outcomes chart has a bar');
    assert.equal(await page.locator('svg[role="img"]').count(), 2, 'two charts');
    await screenshot('06-dashboard', page);
    await page.goto('/pipelines/graph');
    await page.getByRole('heading', { name: 'Pipeline dependencies' }).waitFor();
    await screenshot('07-graph', page);

    assert.deepEqual(serverErrors, [], `server errors: ${serverErrors}`);
}

// config.test.mjs - the configuration model end to end in a real browser:
// the admin adds a PostgreSQL source (the e2e stack's own cluster, database
// e2e_src), tests it (success, server version), discovers its two tables
// (each with its watermark, updated_at), adds a destination (database
// e2e_dst of the same cluster) and tests it, creates a pipeline from one to
// the other and picks both tables; then edits the pipeline from two tabs:
// tab A saves, tab B's save is refused with 409 and the conflict box, and A's
// change is still there; the history lists the versions, shows the diff of
// two, and rolls back (after a confirmation) to an older version, which comes
// back as a new version with the old values. A screenshot of every step goes
// to tests/e2e/out/config-NN-*.png.
//
// Needs SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD and
// SLUICE_E2E_PG_HOST / _PORT / _USER / _PASSWORD / _DB / _DEST_DB (tests/run.sh
// e2e creates the admin and the databases e2e_src and e2e_dst).

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

// The response to the POST a click causes, then the page it leads to.
async function submit(page, button, pathRe) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' &&
            pathRe.test(new URL(r.url()).pathname)),
        button.click(),
    ]);
    await page.waitForLoadState('load');
    return res;
}

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

async function flash(page) {
    return (await page.locator('.flash').first().innerText()).trim();
}

// The connection fields shared by the source and destination forms.
async function fillConnection(page, c) {
    await page.getByLabel('Name', { exact: true }).fill(c.name);
    await page.getByLabel('Type', { exact: true }).selectOption('postgresql');
    await page.getByLabel('Host', { exact: true }).fill(c.host);
    await page.getByLabel('Port', { exact: true }).fill(c.port);
    await page.getByLabel('Database', { exact: true }).fill(c.database);
    await page.getByLabel('User', { exact: true }).fill(c.user);
    await page.getByLabel('Password', { exact: true }).fill(c.password);
    await page.getByLabel('SSL mode').selectOption('disable');
}

// "Test connection" on a source's or destination's page: the flash says
// connected, the last-test card says ok with the server's version.
async function testConnection(page, assert, kind, name) {
    const res = await submit(page, page.getByRole('button', { name: 'Test connection' }),
        new RegExp(`^/${kind}/${UUID}/test$`));
    assert.equal(res.status(), 303, `POST /${kind}/.../test answered ${res.status()}`);
    const msg = await flash(page);
    assert.match(msg, new RegExp(`^Connected to ${name} in \\d+ ms \\(server [^)]*\\d`),
        `the test's flash: "${msg}"`);
    const status = (await page.getByTestId('test-status').innerText()).trim();
    assert.equal(status, 'connected', `the last test's status: "${status}"`);
    const version = (await page.getByTestId('server-version').innerText()).trim();
    assert.match(version, /\b1[0-9]\.\d+/, `the server version: "${version}"`);
    assert.ok(msg.includes(version), `the flash names the version "${version}": "${msg}"`);
    assert.equal(await page.getByTestId('test-error').count(), 0, 'no test error shown');
    return version;
}

// A pipeline's facts (the dl on its page) as {label: text}.
async function facts(page) {
    return page.locator('dl.facts').first().evaluate((dl) => {
        const out = {};
        for (const dt of dl.querySelectorAll('dt')) {
            out[dt.textContent.trim()] = dt.nextElementSibling.textContent.trim();
        }
        return out;
    });
}

export default async function configFlow({ baseURL, newPage, screenshot, env, assert }) {
    assert.ok(env.adminEmail && env.adminPassword,
        'SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD are not set' +
        ' (tests/run.sh e2e sets them)');
    const pg = {
        host: process.env.SLUICE_E2E_PG_HOST || '',
        port: process.env.SLUICE_E2E_PG_PORT || '',
        user: process.env.SLUICE_E2E_PG_USER || '',
        password: process.env.SLUICE_E2E_PG_PASSWORD || '',
        db: process.env.SLUICE_E2E_PG_DB || '',
        destDb: process.env.SLUICE_E2E_PG_DEST_DB || '',
    };
    assert.ok(pg.host && pg.port && pg.user && pg.password && pg.db && pg.destDb,
        'SLUICE_E2E_PG_HOST/PORT/USER/PASSWORD/DB/DEST_DB are not set' +
        ' (tests/run.sh e2e sets them)');
    const stamp = Date.now().toString(36);
    const page = await newPage();
    const serverErrors = [];
    const watch = (p) => p.on('response', (r) => {
        if (r.url().startsWith(baseURL) && r.status() >= 500) {
            serverErrors.push(`${r.status()} ${r.url()}`);
        }
    });
    watch(page);
    const dialogs = [];
    page.on('dialog', async (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        await d.accept();
    });

    await signIn(page, assert, env.adminEmail, env.adminPassword);

    // 1. A new source: the e2e stack's own PostgreSQL, database e2e_src.
    await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Sources' }).click();
    await page.waitForURL(`${baseURL}/sources`);
    await page.getByRole('link', { name: 'New source' }).click();
    await page.waitForURL(`${baseURL}/sources/new`);
    const srcName = `e2e shop ${stamp}`;
    await fillConnection(page, { name: srcName, host: pg.host, port: pg.port,
        database: pg.db, user: pg.user, password: pg.password });
    await page.getByLabel('Schemas (PostgreSQL)').fill('public');
    await screenshot('01-source-form', page);
    let res = await submit(page, page.getByRole('button', { name: 'Create source' }),
        /^\/sources$/);
    assert.equal(res.status(), 303, `creating the source answered ${res.status()}`);
    await page.waitForURL(new RegExp(`/sources/${UUID}$`));
    const sourceURL = page.url();
    assert.match(await flash(page), new RegExp(`Source ${srcName} created`));
    await page.getByRole('heading', { name: srcName }).waitFor();
    assert.ok(!(await page.content()).includes(pg.password), 'the password is not on the page');
    assert.match(await page.locator('dl.facts').first().innerText(),
        /stored, encrypted \(never shown\)/);
    await screenshot('02-source-created', page);

    // 2. Test connection: connected, with the server's version.
    const srcVersion = await testConnection(page, assert, 'sources', srcName);
    assert.equal(page.url(), sourceURL, 'the test leads back to the source');
    await screenshot('03-source-tested', page);

    // 3. Discover: both tables, each with its primary key and watermark.
    await page.getByRole('link', { name: 'Discover tables' }).click();
    await page.waitForURL(`${sourceURL}/discover`);
    await page.getByRole('heading', { name: `Tables in ${srcName}` }).waitFor();
    assert.match(await page.getByTestId('discover-summary').innerText(),
        /^2 table\(s\) found, 2 selected by the table filters, 0 left out\.$/);
    for (const t of ['public.orders', 'public.customers']) {
        const row = page.locator(`tr[data-table="${t}"]`);
        assert.equal(await row.count(), 1, `${t} is listed`);
        const cells = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
        assert.equal(`${cells[0]}.${cells[1]}`, t);
        assert.equal(cells[3], 'id', `${t}'s primary key: ${cells[3]}`);
        assert.equal(await row.locator('code.watermark').innerText(), 'updated_at',
            `${t}'s watermark`);
        assert.match(cells[5], /^3 columns/, `${t}'s columns: ${cells[5]}`);
    }
    await page.locator('tr[data-table="public.orders"] summary').click();
    assert.match(await page.locator('tr[data-table="public.orders"] details').innerText(),
        /total\s+numeric\(12,2\)/);
    await screenshot('04-source-discovered', page);

    // 4. A destination: the same cluster, database e2e_dst.
    await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Destinations' })
        .click();
    await page.waitForURL(`${baseURL}/destinations`);
    await page.getByRole('link', { name: 'New destination' }).click();
    await page.waitForURL(`${baseURL}/destinations/new`);
    const dstName = `e2e warehouse ${stamp}`;
    await fillConnection(page, { name: dstName, host: pg.host, port: pg.port,
        database: pg.destDb, user: pg.user, password: pg.password });
    assert.equal(await page.getByLabel('Default destination').isChecked(), false,
        'a second destination is not the default unless ticked');
    await screenshot('05-destination-form', page);
    res = await submit(page, page.getByRole('button', { name: 'Create destination' }),
        /^\/destinations$/);
    assert.equal(res.status(), 303, `creating the destination answered ${res.status()}`);
    await page.waitForURL(new RegExp(`/destinations/${UUID}$`));
    assert.match(await flash(page), new RegExp(`Destination ${dstName} created`));
    const dstFacts = await facts(page);
    assert.equal(dstFacts['Raw schema'], 'staging');
    assert.equal(dstFacts['Target schema'], 'analytics');
    assert.equal(dstFacts.Database, pg.destDb);
    const dstVersion = await testConnection(page, assert, 'destinations', dstName);
    assert.equal(dstVersion, srcVersion, 'the same cluster answers both');
    await screenshot('06-destination-tested', page);

    // 5. A pipeline from the source to the destination.
    await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Pipelines' }).click();
    await page.waitForURL(`${baseURL}/pipelines`);
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await page.waitForURL(`${baseURL}/pipelines/new`);
    const plName = `e2e_shop_${stamp}`;
    const firstDescription = 'Orders and customers, first version';
    await page.getByLabel('Name', { exact: true }).fill(plName);
    await page.getByLabel('Description').fill(firstDescription);
    await page.getByLabel('Source').selectOption({ label: srcName });
    await page.getByLabel('Destination').selectOption({ label: dstName });
    await page.getByLabel('Runs').selectOption('custom');
    await page.getByLabel('Cron expression').fill('15 */6 * * *');
    await page.getByLabel('Time zone').fill('UTC');
    await page.getByLabel('Max retries').fill('2');
    await page.getByLabel('Timeout (seconds)').fill('900');
    await page.getByLabel('Change note').fill('created by the browser test');
    await screenshot('07-pipeline-form', page);
    res = await submit(page, page.getByRole('button', { name: 'Create pipeline' }),
        /^\/pipelines$/);
    assert.equal(res.status(), 303, `creating the pipeline answered ${res.status()}`);
    await page.waitForURL(new RegExp(`/pipelines/${UUID}/edit#tables$`));
    const pipelineURL = page.url().replace(/\/edit#tables$/, '');
    assert.match(await flash(page),
        new RegExp(`Pipeline "${plName}" created \\(version 1\\)\\. Now choose its tables\\.`));
    await page.getByRole('heading', { name: `Edit ${plName}` }).waitFor();
    assert.match(await page.locator('#tables .empty').innerText(), /No tables yet/);

    // 6. The tables picker: both discovered tables, each with its watermark.
    const picker = page.locator('#add ul.picker');
    assert.equal(await picker.locator('li').count(), 2,
        `the picker offers the source's two tables: ${await picker.innerText()}`);
    for (const t of ['public.orders', 'public.customers']) {
        const item = picker.locator('label.check').filter({ hasText: t });
        assert.equal(await item.count(), 1, `${t} is in the picker`);
        assert.match(await item.innerText(), /watermark updated_at/);
        await item.locator('input[type="checkbox"]').check();
    }
    await screenshot('08-tables-picked', page);
    res = await submit(page, page.getByRole('button', { name: 'Add tables' }),
        new RegExp(`^/pipelines/${UUID}/tables/add$`));
    assert.equal(res.status(), 303, `adding the tables answered ${res.status()}`);
    await page.waitForLoadState('load');
    const added = await flash(page);
    assert.match(added, /^Added .*\(version 2\)\.$/, `the flash after adding: "${added}"`);
    assert.ok(added.includes('public.orders') && added.includes('public.customers'), added);
    const tableRows = page.locator('#tables table.tables-form tbody tr');
    assert.equal(await tableRows.count(), 2, 'the pipeline has two tables');
    for (const t of ['public.orders', 'public.customers']) {
        const row = tableRows.filter({ hasText: t });
        assert.match(await row.locator('td').first().innerText(), /found watermark: updated_at/);
        assert.equal(await row.getByLabel(`Sync mode of ${t}`).inputValue(), 'incremental',
            `${t} syncs incrementally (it has a watermark)`);
        assert.equal(await row.getByLabel(`${t} enabled`).isChecked(), true);
    }
    assert.equal(await picker.locator('input[type="checkbox"]').count(), 0,
        'nothing left to pick');
    await screenshot('09-tables-added', page);

    // 7. Two tabs on the edit page (same browser context, same session).
    const tabA = page;
    const tabB = await page.context().newPage();
    watch(tabB);
    const tabErrors = [];
    tabB.on('pageerror', (err) => tabErrors.push(err.message));
    await tabA.goto(`${pipelineURL}/edit`);
    await tabB.goto(`${pipelineURL}/edit`);
    for (const tab of [tabA, tabB]) {
        await tab.getByRole('heading', { name: `Edit ${plName}` }).waitFor();
        assert.equal(await tab.locator('input[name="version"]').first().inputValue(), '2',
            'both tabs load version 2');
    }
    const descA = 'Changed in tab A';
    await tabA.getByLabel('Description').fill(descA);
    await tabA.locator('#message').fill('tab A');
    await tabB.getByLabel('Timeout (seconds)').fill('1800');
    await tabB.locator('#message').fill('tab B');
    res = await submit(tabA, tabA.getByRole('button', { name: 'Save', exact: true }),
        new RegExp(`^/pipelines/${UUID}$`));
    assert.equal(res.status(), 303, `tab A's save answered ${res.status()}`);
    assert.equal(tabA.url(), pipelineURL);
    assert.match(await flash(tabA), new RegExp(`Pipeline "${plName}" saved \\(version 3\\)\\.`));
    let f = await facts(tabA);
    assert.match(f.Version, /^3\b/);
    assert.equal((await tabA.locator('p.lead').first().innerText()).trim(), descA);
    await screenshot('10-tab-a-saved', tabA);

    res = await submit(tabB, tabB.getByRole('button', { name: 'Save', exact: true }),
        new RegExp(`^/pipelines/${UUID}$`));
    assert.equal(res.status(), 409, `tab B's save (from version 2) answered ${res.status()}`);
    const conflict = tabB.getByTestId('conflict');
    assert.equal(await conflict.count(), 1, 'tab B shows the conflict');
    const conflictText = await conflict.innerText();
    assert.match(conflictText, new RegExp('Someone else changed this pipeline \\(version 3 by ' +
        `${env.adminEmail.replace(/[.]/g, '\\.')} at .*\\) while you were editing\\. ` +
        'Your changes were not saved\\.'));
    const rows = await conflict.locator('tbody tr').evaluateAll((trs) => trs.map((tr) =>
        Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim())));
    const byField = Object.fromEntries(rows.map(([k, theirs, yours]) => [k, { theirs, yours }]));
    assert.deepEqual(byField.Description, { theirs: descA, yours: firstDescription },
        `the conflict shows A's description against B's: ${JSON.stringify(rows)}`);
    assert.deepEqual(byField['Timeout (seconds)'], { theirs: '900', yours: '1800' },
        `the conflict shows B's timeout: ${JSON.stringify(rows)}`);
    assert.equal(rows.length, 2, `only those two fields differ: ${JSON.stringify(rows)}`);
    assert.equal(await tabB.getByRole('link', { name: 'See what they changed' }).getAttribute(
        'href'), `${new URL(pipelineURL).pathname}/versions/diff?from=2&to=3`);
    assert.equal(await tabB.getByLabel('Timeout (seconds)').inputValue(), '1800',
        'tab B keeps its typed value');
    assert.equal(await tabB.locator('input[name="version"]').first().inputValue(), '3',
        'tab B now edits on top of version 3');
    await screenshot('11-tab-b-conflict', tabB);

    // A's change is still there; B's was not written.
    await tabA.reload();
    f = await facts(tabA);
    assert.match(f.Version, /^3\b/, `still version 3 after the refused save: ${f.Version}`);
    assert.equal(f.Timeout, '900 seconds', 'B\'s timeout was not saved');
    assert.equal((await tabA.locator('p.lead').first().innerText()).trim(), descA,
        'A\'s description is kept');
    await tabB.close();
    assert.deepEqual(tabErrors, []);

    // 8. The history: three versions, the newest current.
    await page.getByRole('link', { name: 'History (version 3)' }).click();
    await page.waitForURL(`${pipelineURL}/versions`);
    await page.getByRole('heading', { name: `History of ${plName}` }).waitFor();
    const versions = await page.locator('tr[data-version]').evaluateAll((trs) =>
        trs.map((tr) => tr.getAttribute('data-version')));
    assert.deepEqual(versions, ['3', '2', '1'], `the versions listed: ${versions}`);
    const v3 = page.locator('tr[data-version="3"]');
    assert.match(await v3.innerText(), /current/);
    assert.match(await v3.innerText(), /tab A/);
    assert.ok((await v3.innerText()).includes(env.adminEmail));
    assert.match(await page.locator('tr[data-version="1"]').innerText(),
        /created by the browser test/);
    assert.equal(await page.locator('tr[data-version="1"]').getByRole('link',
        { name: 'Roll back to this version' }).count(), 1);
    assert.equal(await v3.getByRole('link', { name: 'Roll back to this version' }).count(), 0,
        'no rollback to the current version');
    await screenshot('12-history', page);

    // 9. The diff between versions 1 and 3.
    await page.getByLabel('Compare version').fill('1');
    await page.getByLabel('with version').fill('3');
    await Promise.all([
        page.waitForURL(/\/versions\/diff\?from=1&to=3$/),
        page.getByRole('button', { name: 'Show differences' }).click(),
    ]);
    await page.getByRole('heading', { name: 'Version 1 → version 3' }).waitFor();
    const descRow = page.locator('[data-testid="diff-fields"] tr[data-key="description"]');
    assert.equal(await descRow.count(), 1, 'the description changed from 1 to 3');
    assert.equal(await descRow.locator('del').innerText(), firstDescription);
    assert.equal(await descRow.locator('ins').innerText(), descA);
    assert.equal(await page.locator('[data-testid="diff-fields"] tr[data-key="timeout_seconds"]')
        .count(), 0, 'the timeout did not change');
    const tablesDiff = await page.getByTestId('diff-tables').innerText();
    assert.match(tablesDiff, /Added public\.orders/);
    assert.match(tablesDiff, /Added public\.customers/);
    await screenshot('13-diff', page);

    // 10. Roll back to version 2 (before tab A's change): a confirmation page
    // with what changes, then the browser's confirm, then a new version.
    await page.goto(`${pipelineURL}/versions`);
    await page.locator('tr[data-version="2"]').getByRole('link',
        { name: 'Roll back to this version' }).click();
    await page.waitForURL(`${pipelineURL}/versions/2/rollback`);
    await page.getByRole('heading', { name: 'Roll back to version 2?' }).waitFor();
    const rbRow = page.locator('[data-testid="diff-fields"] tr[data-key="description"]');
    assert.equal(await rbRow.locator('del').innerText(), descA);
    assert.equal(await rbRow.locator('ins').innerText(), firstDescription);
    await screenshot('14-rollback-confirm', page);
    res = await submit(page, page.getByRole('button', { name: 'Roll back to version 2' }),
        new RegExp(`^/pipelines/${UUID}/versions/2/rollback$`));
    assert.deepEqual(dialogs, ['confirm: Roll back to version 2?'],
        `the browser asked first: ${dialogs}`);
    assert.equal(res.status(), 303, `the rollback answered ${res.status()}`);
    await page.waitForURL(`${pipelineURL}/versions`);
    assert.equal(await flash(page), 'Rolled back to version 2 as version 4.');
    const after = await page.locator('tr[data-version]').evaluateAll((trs) =>
        trs.map((tr) => tr.getAttribute('data-version')));
    assert.deepEqual(after, ['4', '3', '2', '1']);
    const v4 = page.locator('tr[data-version="4"]');
    assert.match(await v4.innerText(), /current/);
    assert.match(await v4.innerText(), /rollback to v2/);
    await screenshot('15-rolled-back', page);

    // The new version has version 2's values; the pipeline shows them.
    await page.goto(`${pipelineURL}/versions/diff?from=2&to=4`);
    assert.equal(await page.getByTestId('no-diff').count(), 1,
        'version 4 is the same as version 2');
    await page.goto(pipelineURL);
    f = await facts(page);
    assert.match(f.Version, /^4\b/);
    assert.equal(f.Timeout, '900 seconds');
    assert.equal(f['Max retries'], '2');
    assert.equal(f.Schedule, '15 */6 * * *, time zone UTC', 'the custom schedule, once');
    assert.equal((await page.locator('p.lead').first().innerText()).trim(), firstDescription,
        'the description is version 2\'s again');
    const shown = await page.locator('section.card').filter({ has: page.getByRole('heading',
        { name: 'Tables', exact: true }) }).locator('tbody tr').allInnerTexts();
    assert.equal(shown.length, 2, `the pipeline still has both tables: ${shown}`);
    await screenshot('16-pipeline-after-rollback', page);

    assert.deepEqual(serverErrors, [], `server errors: ${serverErrors.join(', ')}`);
}

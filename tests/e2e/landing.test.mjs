// landing.test.mjs - a landing zone seen from the console: the admin signs
// in, creates a zone through the form (CSV with a header line, types
// inferred, the default destination "Local warehouse", a fresh target
// table), uploads a CSV file with the zone page's form (a BOM, CRLF line
// ends, quoted fields with commas, doubled quotes and an embedded newline,
// 50 rows) and watches upload.js's progress bar come up and reach 100%; the
// tick loop (tests/e2e/demo.sh) loads the file, and the zone page, reloaded,
// shows it "loaded" with 50 rows loaded and none rejected; the preview shows
// the file's first rows with the CSV's values, the multi-line one included.
// When psql is at hand, the warehouse table holds exactly the 50 rows.
// Screenshots of every step go to tests/e2e/out/landing-NN-*.png.
//
// Needs SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD, the default
// destination and a tick loop (tests/run.sh e2e provides all three).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ROWS = 50;
const LOAD_TIMEOUT_MS = 30000;

// The rows of the file, as the loader must see them.
function people() {
    const rows = [];
    for (let i = 1; i <= ROWS; i++) {
        rows.push({ id: String(i), name: `Person ${i}`, note: `plain note ${i}`,
            amount: `${i}.${String(i % 100).padStart(2, '0')}` });
    }
    rows[1].name = 'Smith, "Jr"';                       // a comma and doubled quotes
    rows[2].note = 'line one\nline two';                // an embedded newline
    rows[4].name = 'Zoë Ünicode';                       // UTF-8 after the BOM
    rows[6].note = '';                                  // an empty field
    rows[ROWS - 1].note = 'last, "quoted" one';
    return rows;
}

function csvField(s) {
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvText(rows) {
    const lines = ['id,name,note,amount'];
    for (const r of rows) {
        lines.push([r.id, r.name, r.note, r.amount].map(csvField).join(','));
    }
    return `\uFEFF${lines.join('\r\n')}\r\n`;
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

// Every change of the upload form's progress box, as the page saw it: the
// box's hidden flag, the bar's value and the status line. Reported through
// a binding, so the record survives upload.js's navigation at the end.
function watchProgress(page) {
    const seen = [];
    return {
        seen,
        install: async () => {
            await page.exposeBinding('__e2eProgress', (_src, s) => { seen.push(s); });
            await page.addInitScript(() => {
                document.addEventListener('DOMContentLoaded', () => {
                    const box = document.querySelector('form[data-upload] .upload-progress');
                    if (!box) return;
                    const bar = box.querySelector('progress');
                    const status = box.querySelector('[role="status"]');
                    const report = () => window.__e2eProgress({
                        hidden: box.hidden,
                        visible: !box.hidden && box.getBoundingClientRect().height > 0,
                        value: bar.value,
                        max: bar.max,
                        attr: bar.getAttribute('value'),
                        label: bar.getAttribute('aria-label'),
                        text: status.textContent,
                        disabled: box.closest('form').querySelector('button[type="submit"]')
                            .disabled,
                    });
                    new MutationObserver(report).observe(box, { attributes: true,
                        subtree: true, childList: true, characterData: true });
                });
            });
        },
    };
}

export default async function landingFlow({ baseURL, newPage, screenshot, env, assert }) {
    assert.ok(env.adminEmail && env.adminPassword,
        'SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD are not set' +
        ' (tests/run.sh e2e sets them)');
    const stamp = Date.now().toString(36);
    const zoneName = `e2e-people-${stamp}`;
    const table = `e2e_landing_people_${stamp}`;
    const rows = people();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-landing-'));
    const csvPath = join(dir, 'people.csv');
    const csv = csvText(rows);
    writeFileSync(csvPath, csv);
    const csvBytes = Buffer.byteLength(csv);

    const page = await newPage();
    const serverErrors = [];
    page.on('response', (r) => {
        if (r.url().startsWith(baseURL) && r.status() >= 500) {
            serverErrors.push(`${r.status()} ${r.url()}`);
        }
    });
    const progress = watchProgress(page);
    await progress.install();

    try {
        // 1. Sign in; the Landing page, then the new zone form.
        await signIn(page, assert, env.adminEmail, env.adminPassword);
        await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Landing' })
            .click();
        await page.waitForURL(`${baseURL}/landing`);
        await page.getByRole('heading', { name: 'Landing zones' }).waitFor();
        await page.getByRole('link', { name: 'New landing zone' }).first().click();
        await page.waitForURL(`${baseURL}/landing/new`);

        // 2. The zone: CSV, header line, inferred types, the default destination.
        await page.getByLabel('Name', { exact: true }).fill(zoneName);
        await page.getByLabel('Description').fill('People, from the browser test');
        const dest = page.getByLabel('Destination', { exact: true });
        await dest.selectOption({ label: 'Local warehouse' });
        await page.getByLabel('Target table').fill(table);
        await page.getByLabel('Format', { exact: true }).selectOption('csv');
        await page.getByLabel('CSV delimiter').selectOption('comma');
        await page.getByLabel('CSV quote').selectOption('double');
        await page.getByLabel('CSV files start with a header line').check();
        await page.getByLabel('Column types').selectOption('infer');
        await screenshot('01-zone-form', page);
        const [created] = await Promise.all([
            page.waitForResponse((r) => r.request().method() === 'POST' &&
                new URL(r.url()).pathname === '/landing'),
            page.getByRole('button', { name: 'Create landing zone' }).click(),
        ]);
        assert.equal(created.status(), 303, `creating the zone answered ${created.status()}`);
        await page.waitForURL(new RegExp(`/landing/${UUID}$`));
        const zoneURL = page.url();
        const zonePath = new URL(zoneURL).pathname;
        await page.getByRole('heading', { name: zoneName }).waitFor();
        assert.match(await flash(page), new RegExp(zoneName.replace(/[-]/g, '\\-')),
            'the flash names the new zone');
        const facts = await page.locator('dl.facts').first().innerText();
        assert.match(facts, /Local warehouse/, `the zone loads into the default: ${facts}`);
        assert.ok(facts.includes(`.${table}`), `the zone loads into ${table}: ${facts}`);
        assert.match(facts, /types inferred from the data/);
        assert.match(await page.locator('p.empty').innerText(), /No files uploaded yet/);
        await screenshot('02-zone-created', page);

        // 3. Upload the file with the form; upload.js sends it and shows the bar.
        const form = page.locator('form[data-upload]');
        assert.equal(await form.getAttribute('enctype'), 'multipart/form-data');
        assert.ok(await page.locator('.upload-progress').isHidden(),
            'the progress bar is hidden before an upload');
        await page.getByLabel('Files', { exact: true }).setInputFiles(csvPath);
        // A slow uplink, so the bar is seen on its way up.
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 200,
            downloadThroughput: -1, uploadThroughput: Math.max(1024, csvBytes) });
        const answered = page.waitForResponse((r) => r.request().method() === 'POST' &&
            new URL(r.url()).pathname === `${zonePath}/files`);
        await form.getByRole('button', { name: 'Upload' }).click();
        await page.locator('.upload-progress').waitFor({ state: 'visible', timeout: 5000 })
            .then(() => screenshot('03-uploading', page)).catch(() => {});
        const uploaded = await answered;
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
            downloadThroughput: -1, uploadThroughput: -1 });
        assert.equal(uploaded.status(), 201,
            `the upload (through XMLHttpRequest) answered ${uploaded.status()}`);
        assert.match(uploaded.request().headers()['content-type'] || '',
            /^multipart\/form-data; boundary=/);
        assert.equal(uploaded.request().headers().accept, 'application/json',
            'upload.js asked for JSON');
        await page.waitForURL(zoneURL);
        await page.waitForLoadState('load');

        // The bar as the page showed it: visible, rising, at 100% at the end.
        const seen = progress.seen;
        assert.ok(seen.length > 0, 'the progress box changed during the upload');
        const shown = seen.filter((s) => s.visible);
        assert.ok(shown.length > 0, `the progress box was visible: ${JSON.stringify(seen)}`);
        for (const s of shown) {
            assert.equal(s.max, 100);
            assert.equal(s.label, 'Upload progress');
            assert.equal(s.disabled, true, 'the Upload button is off while sending');
        }
        const values = shown.map((s) => s.value);
        for (let i = 1; i < values.length; i++) {
            assert.ok(values[i] >= values[i - 1], `the bar never goes back: ${values}`);
        }
        const last = shown[shown.length - 1];
        assert.equal(last.value, 100, `the bar ends full: ${JSON.stringify(last)}`);
        assert.equal(last.attr, '100', 'the value attribute says 100 too');
        assert.ok(shown.some((s) => /^Uploading: 100% \(/.test(s.text)),
            `the status line said 100%: ${shown.map((s) => s.text).join(' | ')}`);

        // 4. The zone page: the flash, and the file, uploaded (or already loading).
        const msg = await flash(page);
        const m = /^Uploaded: people\.csv \((.*)\) stored as file (\d+)\.$/.exec(msg);
        assert.ok(m, `the upload's flash: "${msg}"`);
        const fileId = m[2];
        const fileRows = page.locator('tr[data-file]');
        assert.equal(await fileRows.count(), 1, 'one file is listed');
        const fileRow = page.locator(`tr[data-file="${fileId}"]`);
        assert.equal(await fileRow.count(), 1, `file ${fileId} is listed`);
        assert.match(await fileRow.locator('td').first().innerText(), /^people\.csv/);
        const sha = await fileRow.locator('code').getAttribute('title');
        assert.equal(sha, createHash('sha256').update(csv).digest('hex'),
            'the page shows the sha256 of the file sent');
        const kib = csvBytes / 1024;
        assert.equal(m[1], `${kib < 10 ? kib.toFixed(1) : kib.toFixed(0)} KiB`,
            `the flash's size for ${csvBytes} bytes: ${m[1]}`);
        assert.equal((await fileRow.locator('td').nth(2).innerText()).trim(),
            `${csvBytes} bytes`, 'the listed size');
        await screenshot('04-uploaded', page);

        // 5. The tick loads it: reload until the status is final.
        const deadline = Date.now() + LOAD_TIMEOUT_MS;
        let status = '';
        for (;;) {
            status = (await fileRow.getByTestId('status').innerText()).trim();
            if (!['uploaded', 'loading'].includes(status)) break;
            assert.ok(Date.now() < deadline,
                `file ${fileId} still ${status} after ${LOAD_TIMEOUT_MS} ms (is a tick running?)`);
            await page.waitForTimeout(500);
            await page.reload();
        }
        const cells = (await fileRow.locator('td').allInnerTexts()).map((s) => s.trim());
        assert.equal(status, 'loaded', `the file ended ${status}: ${cells.join(' | ')}`);
        assert.equal(cells[4], String(ROWS), `rows loaded: ${cells[4]}`);
        assert.equal(cells[5], '0', `rows rejected: ${cells[5]}`);
        assert.ok(cells[6].includes(env.adminEmail), `uploaded by: ${cells[6]}`);
        assert.match(await fileRow.getByTestId('status').getAttribute('class'), /badge-ok/);
        await screenshot('05-loaded', page);

        // 6. The preview: the file's first rows, in file order, with its values.
        await page.getByRole('link', { name: 'Preview loaded rows' }).click();
        await page.waitForURL(`${zoneURL}/preview`);
        await page.getByRole('heading', { name: 'Loaded rows' }).waitFor();
        assert.equal(await page.getByTestId('preview-problem').count(), 0,
            'the preview shows no problem');
        const preview = page.getByTestId('preview');
        const columns = (await preview.locator('thead th').allTextContents()).map((s) => s.trim());
        for (const c of ['id', 'name', 'note', 'amount']) {
            assert.ok(columns.includes(c), `the preview has column ${c} (the BOM is not in` +
                ` the first name): ${JSON.stringify(columns)}`);
        }
        const shownRows = await preview.locator('tbody tr').evaluateAll((trs) =>
            trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
        assert.ok(shownRows.length >= 10 && shownRows.length <= ROWS,
            `the preview shows some rows: ${shownRows.length}`);
        const col = Object.fromEntries(['id', 'name', 'note', 'amount'].map((c) =>
            [c, columns.indexOf(c)]));
        shownRows.forEach((cellsOf, i) => {
            const want = rows[i];
            const got = { id: cellsOf[col.id], name: cellsOf[col.name],
                note: cellsOf[col.note], amount: cellsOf[col.amount] };
            // An empty CSV field may load as NULL (shown as "NULL") or as ''.
            if (want.note === '' && got.note === 'NULL') got.note = '';
            assert.equal(got.id, want.id, `preview row ${i + 1}: ${JSON.stringify(got)}`);
            assert.equal(got.name, want.name, `preview row ${i + 1}'s name`);
            assert.equal(got.note, want.note, `preview row ${i + 1}'s note`);
            assert.equal(Number(got.amount), Number(want.amount), `preview row ${i + 1}'s amount`);
        });
        // The multi-line value, as a person sees it in its cell: on two lines.
        const multi = preview.locator('tbody tr').nth(2).locator('td').nth(col.note);
        assert.equal(await multi.textContent(), 'line one\nline two');
        assert.equal(await multi.innerText(), 'line one\nline two',
            'the preview keeps the line break of a multi-line value');
        assert.equal(await preview.locator('tbody tr').nth(1).locator('td').nth(col.name)
            .innerText(), 'Smith, "Jr"');
        await screenshot('06-preview', page);

        // 7. The warehouse holds exactly the file's rows (when psql is here).
        if (env.databaseURL && hasPsql()) {
            const wh = new URL(env.databaseURL);
            wh.pathname = '/sluice_warehouse';
            const code = await page.goto(zoneURL).then(() =>
                page.locator('dl.facts code').first().innerText());
            const [schema] = code.split('.');
            const out = execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d',
                wh.href, '-c', `SELECT count(*), count(DISTINCT id), sum(amount),` +
                ` count(*) FILTER (WHERE note = 'line one' || chr(10) || 'line two')` +
                ` FROM "${schema}"."${table}"`], { encoding: 'utf8' }).trim();
            const sum = rows.reduce((a, r) => a + Number(r.amount), 0);
            assert.equal(out, `${ROWS}|${ROWS}|${sum.toFixed(2)}|1`,
                `the warehouse table ${schema}.${table}: ${out}`);
        }

        assert.deepEqual(serverErrors, [], `server errors: ${serverErrors}`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function hasPsql() {
    try {
        execFileSync('psql', ['--version'], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
}

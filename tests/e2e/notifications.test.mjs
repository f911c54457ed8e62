// notifications.test.mjs - a notification target end to end in a real
// browser: the admin opens Notifications from the nav, chooses "Webhook",
// creates a target pointing at a local receiver (tests/lib/receiver.mjs,
// started here), copies the signing secret from the page that shows it
// once, sends a test from the target's page and sees it delivered (flash,
// the Last test card with HTTP 200 and the receiver's answer); the request
// the receiver recorded carries a signature that verifies with that secret.
// When a pipeline exists (the demo's), the target is chosen for its failed
// runs in the pipeline page's Notifications section. Screenshots go to
// tests/e2e/out/notifications-NN-*.png.
//
// The receiver listens on 127.0.0.1, which the SSRF guard refuses by
// default: the test turns allow_private_networks on through the control
// database (SLUICE_E2E_DATABASE_URL) and back off at the end.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function psql(url, sql) {
    const args = ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql];
    return execFileSync('psql', args, { encoding: 'utf8' }).trim();
}

// The receiver on a free port: {url, log, stop()}.
async function startReceiver(dir) {
    const log = join(dir, 'receiver.jsonl');
    const child = spawn(process.execPath, [join(here, '../lib/receiver.mjs'), '--log', log],
        { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error('the receiver did not start')), 10000);
        child.stdout.on('data', (b) => {
            out += b;
            const m = /^listening (\d+)$/m.exec(out);
            if (m) {
                clearTimeout(t);
                resolve(Number(m[1]));
            }
        });
        child.on('exit', (code) => reject(new Error(`the receiver exited (${code})`)));
    });
    const url = `http://127.0.0.1:${port}`;
    return {
        url,
        requests: () => readFileSync(log, 'utf8').split('\n').filter(Boolean)
            .map((l) => JSON.parse(l)),
        mode: (m) => fetch(`${url}/_control`, { method: 'POST', body: JSON.stringify(m) }),
        stop: () => child.kill('SIGTERM'),
    };
}

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

export default async function notificationsFlow({ baseURL, newPage, screenshot, env, assert }) {
    assert.ok(env.adminEmail && env.adminPassword && env.databaseURL,
        'SLUICE_E2E_ADMIN_EMAIL / _PASSWORD / SLUICE_E2E_DATABASE_URL are not set' +
        ' (tests/run.sh e2e sets them)');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-notify-'));
    const receiver = await startReceiver(dir);
    psql(env.databaseURL, "UPDATE sluice.settings SET value = value ||" +
        " '{\"allow_private_networks\": true}' WHERE key = 'notifications'");
    try {
        const page = await newPage();
        const serverErrors = [];
        page.on('response', (r) => {
            if (r.url().startsWith(baseURL) && r.status() >= 500) {
                serverErrors.push(`${r.status()} ${r.url()}`);
            }
        });
        await signIn(page, assert, env.adminEmail, env.adminPassword);

        // 1. Notifications from the nav, then "New target", then "Webhook".
        await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Notifications' })
            .click();
        await page.waitForURL(`${baseURL}/notifications`);
        await screenshot('01-list', page);
        await page.getByRole('link', { name: 'New target' }).click();
        await page.waitForURL(`${baseURL}/notifications/new`);
        await page.getByRole('link', { name: 'Webhook', exact: true }).click();
        await page.waitForURL(`${baseURL}/notifications/new?type=webhook`);
        await page.getByRole('heading', { name: 'New Webhook target' }).waitFor();

        // 2. Name and URL; the signing secret is left for sluice to make.
        const name = `e2e hook ${Date.now().toString(36)}`;
        const hookURL = `${receiver.url}/e2e/hook?token=e2e-private-query`;
        await page.getByLabel('Name', { exact: true }).fill(name);
        await page.getByLabel('URL', { exact: true }).fill(hookURL);
        await screenshot('02-form', page);
        let res = await submit(page, page.getByRole('button', { name: 'Create target' }),
            /^\/notifications$/);
        assert.equal(res.status(), 200, `creating the target answered ${res.status()}`);
        await page.getByRole('heading', { name: 'Webhook target added' }).waitFor();
        const secret = (await page.getByTestId('signing-secret').innerText()).trim();
        assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, `the secret shown: ${secret}`);
        await screenshot('03-secret-once', page);
        await page.getByRole('link', { name: 'Done' }).click();
        await page.waitForURL(new RegExp(`/notifications/${UUID}$`));
        const targetURL = page.url();
        const html = await page.content();
        assert.ok(!html.includes(secret.slice(6)), 'the secret is not on the target page');
        assert.ok(!html.includes('e2e-private-query'), 'the URL\'s query is not on the page');
        assert.equal((await page.getByTestId('url-mask').innerText()).trim(),
            `${receiver.url}/…`);

        // 3. Send test: delivered, with the receiver's answer.
        await receiver.mode({ mode: '200', body: 'e2e receiver says hi' });
        res = await submit(page, page.getByRole('button', { name: 'Send test' }),
            new RegExp(`^/notifications/${UUID}/test$`));
        assert.equal(res.status(), 303, `Send test answered ${res.status()}`);
        await page.waitForURL(`${targetURL}#last-test`);
        const flash = (await page.locator('.flash').first().innerText()).trim();
        const want = `^Test message delivered to ${name}: HTTP 200 in \\d+ ms\\.$`;
        assert.match(flash, new RegExp(want), `the flash: ${flash}`);
        assert.equal((await page.getByTestId('test-status').innerText()).trim(), 'delivered');
        assert.equal((await page.getByTestId('test-http').innerText()).trim(), 'HTTP 200');
        assert.equal((await page.getByTestId('test-answer').innerText()).trim(),
            'e2e receiver says hi');
        await screenshot('04-tested', page);

        // The test is logged as a delivery on the target's deliveries page.
        await page.goto(`${targetURL}/deliveries`);
        const row = page.locator('tbody tr', { hasText: 'test' }).first();
        const cells = await row.locator('td').allInnerTexts();
        assert.ok(cells.some((c) => c.trim() === '200'), `the logged test: ${cells}`);
        assert.ok(cells.some((c) => /delivered/i.test(c)), `the logged outcome: ${cells}`);
        await screenshot('04b-delivery-logged', page);
        await page.goto(targetURL);

        // 4. What the receiver got: one signed POST, verifiable with the secret.
        const reqs = receiver.requests();
        assert.equal(reqs.length, 1, `the receiver got ${reqs.length} request(s)`);
        const r = reqs[0];
        assert.equal(`${r.method} ${r.path}?${r.query}`, 'POST /e2e/hook?token=e2e-private-query');
        const key = Buffer.from(secret.slice(6), 'base64');
        const body = Buffer.from(r.body_base64, 'base64');
        const mac = crypto.createHmac('sha256', key)
            .update(Buffer.concat([Buffer.from(`${r.headers['webhook-id']}.` +
                `${r.headers['webhook-timestamp']}.`), body])).digest('base64');
        assert.equal(r.headers['webhook-signature'], `v1,${mac}`, 'the signature verifies');
        const payload = JSON.parse(body.toString('utf8'));
        assert.equal(payload.type, 'run.succeeded');
        assert.equal(payload.data.pipeline_name, 'sluice test');

        // 5. A pipeline's failed runs, when there is a pipeline to choose.
        await page.locator('nav[aria-label="Main"]').getByRole('link', { name: 'Pipelines' })
            .click();
        await page.waitForURL(`${baseURL}/pipelines`);
        const first = page.locator(`table a[href^="/pipelines/"]`).first();
        if (await first.count()) {
            await first.click();
            await page.waitForURL(new RegExp(`/pipelines/${UUID}$`));
            const section = page.getByTestId('pipeline-notifications');
            await section.getByLabel('Target').selectOption({ label: `${name} (Webhook)` });
            assert.equal(await section.getByLabel('Run failed').isChecked(), true,
                'run failed is ticked by default');
            await section.getByLabel('Schema drift').check();
            res = await submit(page, section.getByRole('button', { name: 'Add or change' }),
                new RegExp(`^/pipelines/${UUID}/notifications$`));
            assert.equal(res.status(), 303, `subscribing answered ${res.status()}`);
            const row = page.getByTestId('pipeline-notifications')
                .locator('tr', { hasText: name });
            assert.match(await row.innerText(), /Run failed, Schema drift/);
            await screenshot('05-pipeline', page);
        }
        assert.deepEqual(serverErrors, [], 'no 5xx answers');
    } finally {
        psql(env.databaseURL, "UPDATE sluice.settings SET value = value ||" +
            " '{\"allow_private_networks\": false}' WHERE key = 'notifications'");
        receiver.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

// console.test.mjs - the console end to end in a real browser: the admin
// signs in and sees the shell (nav, name, role), creates a viewer through the
// Users form (a failed submission first: 422, the field marked, the typed
// values kept), signs out; the viewer signs in and finds no edit controls
// (no Users nav item, no "New user" link, no POST form but sign-out on the
// pages a viewer sees; /users is a 403), and signs out. A screenshot of every
// step goes to tests/e2e/out/console-NN-*.png.
//
// Needs SLUICE_E2E_ADMIN_EMAIL / SLUICE_E2E_ADMIN_PASSWORD (tests/run.sh e2e
// creates that admin).

const ADMIN_NAME_RE = /\S/;

// The POST response a click causes (a form submission), and the navigation.
async function submit(page, button, urlSuffix) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' &&
            new URL(r.url()).pathname === urlSuffix),
        button.click(),
    ]);
    await page.waitForLoadState('load');
    return res;
}

async function signIn(page, assert, email, password) {
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login',
        `signed out, / should lead to /login, got ${page.url()}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    const res = await submit(page, page.getByRole('button', { name: 'Sign in' }), '/login');
    assert.equal(res.status(), 303, `POST /login answered ${res.status()}`);
    assert.equal(new URL(page.url()).pathname, '/',
        `after sign-in the browser is at ${page.url()}`);
}

async function signOut(page, assert) {
    const res = await submit(page, page.getByRole('button', { name: 'Sign out' }), '/logout');
    assert.equal(res.status(), 303, `POST /logout answered ${res.status()}`);
    assert.equal(new URL(page.url()).pathname, '/login', `after sign-out: ${page.url()}`);
    assert.match(await page.locator('.flash').first().innerText(), /signed out/i);
}

// What a page offers: nav link texts, POST form actions, and links/buttons
// that would change something.
async function inventory(page) {
    return {
        nav: await page.locator('header nav a').allInnerTexts(),
        postForms: await page.locator('form').evaluateAll((forms) => forms
            .filter((f) => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
            .map((f) => new URL(f.action).pathname)),
        newUserLinks: await page.locator('a[href="/users/new"]').count(),
        usersLinks: await page.locator('a[href="/users"]').count(),
        editLinks: await page.locator('a[href^="/users/"]').count(),
    };
}

export default async function consoleFlow({ baseURL, newPage, screenshot, env, assert }) {
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

    // 1. Signed out: the sign-in page.
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/');
    assert.equal(await page.locator('nav[aria-label="Main"]').count(), 0,
        'no nav before signing in');
    await screenshot('01-login', page);

    // 2. The admin signs in and sees the shell.
    await signIn(page, assert, env.adminEmail, env.adminPassword);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    let inv = await inventory(page);
    assert.deepEqual(inv.nav, ['Dashboard', 'Pipelines', 'Runs', 'Sources', 'Destinations', 'Landing',
        'Notifications', 'Events', 'Audit log', 'Partitions', 'API tokens', 'Users', 'Settings'],
        `the admin's nav: ${inv.nav}`);
    assert.equal(await page.locator('nav[aria-label="Main"] a[aria-current="page"]').innerText(),
        'Dashboard');
    const who = await page.getByTestId('who').innerText();
    assert.equal(who, 'Admin', `the admin's name in the header: "${who}"`);
    assert.equal(await page.locator('header .role').textContent(), 'admin');
    assert.deepEqual(inv.postForms, ['/logout'], `forms on the dashboard: ${inv.postForms}`);
    await screenshot('02-admin-dashboard', page);

    // 3. Users.
    await page.locator('header nav').getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(`${baseURL}/users`);
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Users');
    assert.ok(await page.getByRole('cell', { name: env.adminEmail }).count() >= 1,
        'the admin is listed');
    await screenshot('03-users', page);

    // 4. New user: a mismatched confirmation first.
    await page.getByRole('link', { name: 'New user' }).click();
    await page.waitForURL(`${baseURL}/users/new`);
    const email = `vera.${Date.now()}@example.com`;
    const password = 'Vera-viewer-pass-1';
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Name').fill('Vera Viewer');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Confirm password').fill('something-else-1');
    await screenshot('04-new-user-filled', page);
    let res = await submit(page, page.getByRole('button', { name: 'Create user' }), '/users');
    assert.equal(res.status(), 422, `a mismatched confirmation answered ${res.status()}`);
    const confirm = page.getByLabel('Confirm password');
    assert.equal(await confirm.getAttribute('aria-invalid'), 'true');
    assert.equal(await confirm.getAttribute('aria-describedby'), 'confirm-error');
    assert.match(await page.locator('#confirm-error').innerText(), /do not match/);
    assert.equal(await page.getByLabel('Email').inputValue(), email, 'the email is kept');
    assert.equal(await page.getByLabel('Name').inputValue(), 'Vera Viewer', 'the name is kept');
    assert.equal(await page.getByLabel('Role').inputValue(), 'viewer', 'the role is kept');
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '',
        'the password is not sent back');
    await screenshot('05-new-user-422', page);

    // 5. Fixed, created.
    await page.getByLabel('Password', { exact: true }).fill(password);
    await confirm.fill(password);
    res = await submit(page, page.getByRole('button', { name: 'Create user' }), '/users');
    assert.equal(res.status(), 303, `creating the user answered ${res.status()}`);
    assert.equal(page.url(), `${baseURL}/users`);
    assert.match(await page.locator('.flash').first().innerText(), /created/i);
    const row = page.getByRole('row').filter({ hasText: email });
    assert.equal(await row.count(), 1, 'the new user is listed once');
    assert.match(await row.innerText(), /Vera Viewer/);
    assert.equal(await row.locator('.role').textContent(), 'viewer');
    await screenshot('06-user-created', page);

    // 6. The admin signs out.
    await signOut(page, assert);
    await screenshot('07-admin-signed-out', page);
    await page.goto('/users');
    assert.equal(new URL(page.url()).pathname, '/login', 'signed out, /users leads to /login');

    // 7. The viewer signs in: no edit controls anywhere it can go.
    await signIn(page, assert, email, password);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(await page.getByTestId('who').innerText(), 'Vera Viewer');
    assert.equal(await page.locator('header .role').textContent(), 'viewer');
    inv = await inventory(page);
    assert.ok(!inv.nav.includes('Users'), `the viewer's nav has no Users: ${inv.nav}`);
    assert.deepEqual(inv.nav, ['Dashboard', 'Pipelines', 'Runs', 'Sources', 'Destinations', 'Landing',
        'Notifications', 'Events', 'Audit log', 'Partitions', 'API tokens']);
    assert.deepEqual(inv.postForms, ['/logout'],
        `forms on the viewer's dashboard: ${inv.postForms}`);
    assert.equal(inv.newUserLinks + inv.usersLinks + inv.editLinks, 0,
        'no links to user management on the dashboard');
    await screenshot('08-viewer-dashboard', page);

    await page.locator('header nav').getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(`${baseURL}/audit`);
    inv = await inventory(page);
    assert.deepEqual(inv.postForms, ['/logout'], `POST forms on the audit log: ${inv.postForms}`);
    assert.equal(inv.newUserLinks + inv.usersLinks + inv.editLinks, 0,
        'no links to user management on the audit log');
    await screenshot('09-viewer-audit', page);

    for (const path of ['/users', '/users/new']) {
        const r = await page.goto(path);
        assert.equal(r.status(), 403, `the viewer's GET ${path} answered ${r.status()}`);
        inv = await inventory(page);
        assert.deepEqual(inv.postForms, ['/logout'], `forms on the 403 page: ${inv.postForms}`);
        assert.equal(inv.newUserLinks, 0, 'no "New user" link on the 403 page');
        assert.equal(await page.getByLabel('Email').count(), 0, 'no user form on the 403 page');
    }
    await screenshot('10-viewer-users-403', page);

    // 8. The viewer signs out; the session is gone.
    await page.goto('/');
    await signOut(page, assert);
    await screenshot('11-viewer-signed-out', page);
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'after sign-out / leads to /login');

    assert.deepEqual(serverErrors, [], `server errors: ${serverErrors.join(', ')}`);
}

// smoke.test.mjs - the console's front page loads in a real browser: 200, a
// title that says sluice, and every same-origin resource it pulls in loads.
export default async function smoke({ baseURL, newPage, screenshot, assert }) {
    const page = await newPage();
    const broken = [];
    page.on('response', (res) => {
        if (res.url().startsWith(baseURL) && res.status() >= 400) {
            broken.push(`${res.status()} ${res.url()}`);
        }
    });
    const res = await page.goto('/', { waitUntil: 'load' });
    assert.ok(res, 'no response for /');
    assert.equal(res.status(), 200, `GET / (after redirects) answered ${res.status()}`);
    const title = await page.title();
    assert.match(title, /sluice/i, `title "${title}" does not mention sluice`);
    await screenshot('front', page);
    assert.deepEqual(broken, [], `resources failed to load: ${broken.join(', ')}`);
}

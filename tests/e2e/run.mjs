// run.mjs - the browser test runner: every tests/e2e/*.test.mjs against a
// running sluice at SLUICE_E2E_URL, in headless Chromium via playwright-core.
//
//   SLUICE_E2E_URL=http://127.0.0.1:8080 node tests/e2e/run.mjs [filter]
//
// It starts nothing: tests/run.sh (stage e2e) brings up a stack with the test
// harness and sets SLUICE_E2E_URL (and SLUICE_E2E_ADMIN_EMAIL /
// SLUICE_E2E_ADMIN_PASSWORD once accounts exist). Each test file's default
// export is an async function called with
//   { browser, baseURL, screenshot(name, page), newPage(), env, assert }
// where newPage() opens a page in a fresh context (its own cookies) that is
// closed after the test, and screenshot() saves tests/e2e/out/<file>-<name>.png.
// A test fails if it throws, takes longer than SLUICE_E2E_TIMEOUT ms (60000),
// or if a page from newPage() hits an uncaught JavaScript exception.
// Output: "ok N - file" / "not ok N - file: why", then "e2e: N passed, N failed".
import { readdirSync, mkdirSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const baseURL = (process.env.SLUICE_E2E_URL || '').replace(/\/+$/, '');
const timeoutMs = Number(process.env.SLUICE_E2E_TIMEOUT || 60000);
const filter = process.argv[2] || process.env.SLUICE_E2E_ONLY || '';

function summary(passed, failed) {
    console.log(`e2e: ${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
}

function withTimeout(promise, ms, what) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function runOne(browser, file, n) {
    const name = basename(file, '.test.mjs');
    const contexts = [];
    const pageErrors = [];
    const screenshot = async (shot, page) => {
        const path = join(outDir, `${name}-${shot}.png`);
        await page.screenshot({ path, fullPage: true });
        return path;
    };
    const newPage = async (options = {}) => {
        const context = await browser.newContext({ baseURL, ...options });
        contexts.push(context);
        const page = await context.newPage();
        page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
        return page;
    };
    const env = {
        adminEmail: process.env.SLUICE_E2E_ADMIN_EMAIL || '',
        adminPassword: process.env.SLUICE_E2E_ADMIN_PASSWORD || '',
        databaseURL: process.env.SLUICE_E2E_DATABASE_URL || '',
    };
    try {
        const mod = await import(pathToFileURL(join(here, file)).href);
        if (typeof mod.default !== 'function') {
            throw new Error('no default export function');
        }
        await withTimeout(
            mod.default({ browser, baseURL, screenshot, newPage, env, assert }),
            timeoutMs, name);
        if (pageErrors.length) {
            throw new Error(`uncaught exception in the page: ${pageErrors.join('; ')}`);
        }
        console.log(`ok ${n} - ${name}`);
        return true;
    } catch (err) {
        // A picture of every page still open, to see what went wrong.
        for (const [i, context] of contexts.entries()) {
            for (const [j, page] of context.pages().entries()) {
                await screenshot(`FAILED-${i}-${j}`, page).catch(() => {});
            }
        }
        const why = String(err && err.message ? err.message : err).split('\n')[0];
        console.log(`not ok ${n} - ${name}: ${why}`);
        if (err && err.stack) {
            console.log(err.stack.split('\n').slice(1, 6).map((l) => `#   ${l.trim()}`).join('\n'));
        }
        return false;
    } finally {
        for (const context of contexts) {
            await context.close().catch(() => {});
        }
    }
}

async function main() {
    if (!baseURL) {
        console.log('not ok 1 - SLUICE_E2E_URL is not set (tests/run.sh e2e sets it)');
        summary(0, 1);
        return;
    }
    const files = readdirSync(here)
        .filter((f) => f.endsWith('.test.mjs') && f.includes(filter))
        .sort();
    if (files.length === 0) {
        console.log(`not ok 1 - no tests/e2e/*.test.mjs${filter ? ` matching "${filter}"` : ''}`);
        summary(0, 1);
        return;
    }
    mkdirSync(outDir, { recursive: true });
    console.log(`# ${files.length} test file(s) against ${baseURL}`);
    const browser = await chromium.launch({
        executablePath: process.env.SLUICE_E2E_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--no-first-run',
               '--disable-quic'],
    });
    let passed = 0;
    let failed = 0;
    try {
        for (const [i, file] of files.entries()) {
            if (await runOne(browser, file, i + 1)) passed++;
            else failed++;
        }
    } finally {
        await browser.close().catch(() => {});
    }
    summary(passed, failed);
}

main().catch((err) => {
    console.log(`not ok 1 - e2e runner: ${err && err.message ? err.message : err}`);
    summary(0, 1);
});

#!/usr/bin/env node
// receiver.mjs - a webhook receiver for tests: listens on 127.0.0.1, records
// every request as one JSON line, and answers the way it is told. No
// dependencies beyond node itself.
//
//   node tests/lib/receiver.mjs --log FILE [--port N] [--control FILE]
//
// Prints "listening <port>" on stdout once it accepts connections (port 0 or
// none: a free one). Each request to any path but /_control is appended to
// the log before it is answered:
//   {"seq":1,"at":1717158896123,"method":"POST","path":"/hook","query":"a=1",
//    "headers":{"content-type":"application/json",...},"body":"...","body_base64":"..."}
// (headers lowercased; body as UTF-8 text, body_base64 the exact bytes).
//
// How it answers is a mode, per path (exact, without the query) or for
// every path ("*"), set by POST /_control with a JSON object, or by a
// control file (re-read whenever it changes, same JSON). Fields:
//   mode         "200" (default), "500", "429", "410", "302", "hang", or any
//                status code as a string ("503")
//   path         the path the rule is for (default "*")
//   retry_after  for 429 (and any status): seconds in Retry-After (429 default 1)
//   retry_date   true: send Retry-After as an HTTP date that many seconds ahead
//   seconds      for "hang": wait this long, then answer 200 (default 30)
//   location     for 302: the Location (default http://127.0.0.1:1/elsewhere)
//   body         the answer's body (default {"ok":true} / {"error":"..."})
//   times        apply this rule to the next N requests only, then fall back
//   sequence     instead of mode: ["500","500","200"] one per request, then the
//                rule's mode (or 200)
//   reset        true: forget every rule first (and the request counter)
// GET /_control answers {"requests": N, "rules": {...}}. POST
// /_control/clear empties the log file. SIGTERM stops it.
import fs from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const logFile = opt('--log', null);
const port = Number(opt('--port', '0'));
const controlFile = opt('--control', null);
if (!logFile) {
    console.error('receiver: --log FILE is required');
    process.exit(2);
}

let rules = {};            // path -> rule
let seq = 0;
let controlMtime = 0;

function applyControl(c) {
    if (!c || typeof c !== 'object') throw new Error('control must be a JSON object');
    if (c.reset) {
        rules = {};
        seq = 0;
    }
    if (c.mode === undefined && c.sequence === undefined) return;
    const rule = { ...c };
    delete rule.reset;
    rule.path = c.path || '*';
    if (Array.isArray(c.sequence)) rule.sequence = c.sequence.map(String);
    rules[rule.path] = rule;
}

function readControlFile() {
    if (!controlFile) return;
    let st;
    try {
        st = fs.statSync(controlFile);
    } catch {
        return;
    }
    if (st.mtimeMs === controlMtime) return;
    controlMtime = st.mtimeMs;
    try {
        applyControl(JSON.parse(fs.readFileSync(controlFile, 'utf8')));
    } catch (e) {
        console.error(`receiver: control file: ${e.message}`);
    }
}

// The mode for this request (a path's own rule, else "*", else 200); uses
// up one step of a sequence and one of times.
function modeFor(path) {
    const key = rules[path] ? path : rules['*'] ? '*' : null;
    if (!key) return { mode: '200' };
    const rule = rules[key];
    let mode;
    if (rule.sequence && rule.sequence.length) mode = rule.sequence.shift();
    else mode = rule.mode === undefined ? '200' : String(rule.mode);
    if (rule.times !== undefined && --rule.times <= 0) delete rules[key];
    return { ...rule, mode };
}

function send(res, status, body, headers = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
}

function answer(req, res, m) {
    const extra = {};
    const after = m.retry_after !== undefined ? Number(m.retry_after) : null;
    if (after !== null || m.mode === '429') {
        const s = after === null ? 1 : after;
        extra['retry-after'] = m.retry_date
            ? new Date(Date.now() + s * 1000).toUTCString()
            : String(s);
    }
    switch (m.mode) {
    case 'hang': {
        const ms = (m.seconds === undefined ? 30 : Number(m.seconds)) * 1000;
        const t = setTimeout(() => send(res, 200, m.body ?? { ok: true, late: true }), ms);
        res.on('close', () => clearTimeout(t));
        return;
    }
    case '302':
        send(res, 302, m.body ?? '', {
            location: m.location || 'http://127.0.0.1:1/elsewhere', ...extra });
        return;
    default: {
        const status = Number(m.mode);
        if (!Number.isInteger(status) || status < 100 || status > 599) {
            send(res, 500, { error: `receiver: unknown mode ${m.mode}` });
            return;
        }
        const def = status < 300 ? { ok: true } : { ok: false, error: `mode ${status}` };
        send(res, status, m.body ?? def, extra);
    }
    }
}

function control(req, res, body) {
    if (req.method === 'GET') {
        send(res, 200, { requests: seq, rules });
        return;
    }
    if (req.url.startsWith('/_control/clear')) {
        fs.writeFileSync(logFile, '');
        send(res, 200, { ok: true });
        return;
    }
    try {
        applyControl(JSON.parse(body.toString('utf8') || '{}'));
        send(res, 200, { ok: true, rules });
    } catch (e) {
        send(res, 400, { error: e.message });
    }
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const body = Buffer.concat(chunks);
        const [path, query = ''] = req.url.split(/\?(.*)/s);
        if (path === '/_control' || path.startsWith('/_control/')) {
            control(req, res, body);
            return;
        }
        readControlFile();
        seq++;
        const headers = {};
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
            const k = req.rawHeaders[i].toLowerCase();
            headers[k] = headers[k] === undefined ? req.rawHeaders[i + 1]
                : `${headers[k]}, ${req.rawHeaders[i + 1]}`;
        }
        const line = {
            seq, at: Date.now(), method: req.method, path, query, headers,
            body: body.toString('utf8'), body_base64: body.toString('base64'),
        };
        fs.appendFileSync(logFile, JSON.stringify(line) + '\n');
        answer(req, res, modeFor(path));
    });
});
server.keepAliveTimeout = 5000;
server.listen(port, '127.0.0.1', () => {
    fs.appendFileSync(logFile, '');
    process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
        server.close();
        server.closeAllConnections?.();
        process.exit(0);
    });
}

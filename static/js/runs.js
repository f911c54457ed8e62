/* runs.js - live run pages (progressive enhancement; the page refreshes
 * itself through <noscript><meta refresh> when scripts are off).
 * While the run is queued or running, poll GET /api/v1/runs/{id} and
 * /api/v1/runs/{id}/logs?after=<last line> every two seconds: update the
 * status, the progress bar and its text, append new log lines; once the
 * run has finished, reload the page once to show its final state. */
(function () {
  'use strict';
  var root = document.getElementById('run-live');
  if (!root || root.getAttribute('data-active') !== 'true' ||
      root.getAttribute('data-older') === 'true' || !window.fetch) return;
  var id = root.getAttribute('data-run-id');
  var lastLog = root.getAttribute('data-last-log') || '';
  var level = root.getAttribute('data-level') || '';
  var busy = false;

  function $(sel) { return document.querySelector(sel); }
  function text(sel, value) {
    var el = $(sel);
    if (el && value !== undefined && value !== null) el.textContent = String(value);
  }
  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }

  var badges = { success: 'badge-ok', failed: 'badge-off', running: 'badge-run',
                 cancelled: 'badge-warn' };

  function showRun(run) {
    var st = $('[data-run-status]');
    if (st) {
      st.textContent = run.status;
      st.className = 'badge ' + (badges[run.status] || 'badge-plain');
    }
    var p = run.progress || {};
    var bar = $('[data-run-bar]');
    if (bar) {
      if (p.percent === null || p.percent === undefined) bar.removeAttribute('value');
      else bar.value = p.percent;
    }
    var parts = [];
    var rows = grouped(p.rows_done || 0);
    if (p.rows_estimate !== null && p.rows_estimate !== undefined)
      rows += ' of ' + grouped(p.rows_estimate);
    if (p.percent !== null && p.percent !== undefined) parts.push(p.percent + '%');
    parts.push(rows + ' rows');
    if (p.tables_total) parts.push('tables ' + p.tables_done + '/' + p.tables_total);
    if (p.current_table && run.active) parts.push('now: ' + p.current_table);
    else if (run.status === 'queued') parts.push('waiting for a tick to start it');
    text('#progress-text', parts.join(' \u00b7 '));
  }

  function addLogs(items) {
    var list = document.getElementById('run-logs');
    if (!list || !items.length) return;
    var empty = document.getElementById('run-logs-empty');
    if (empty) empty.parentNode.removeChild(empty);
    items.forEach(function (l) {
      var li = document.createElement('li');
      li.className = 'log-' + l.level;
      li.setAttribute('data-id', l.id);
      var t = document.createElement('time');
      t.setAttribute('datetime', l.at);
      t.textContent = l.at;
      var lv = document.createElement('span');
      lv.className = 'lvl';
      lv.textContent = l.level;
      li.appendChild(t);
      li.appendChild(document.createTextNode(' '));
      li.appendChild(lv);
      li.appendChild(document.createTextNode(' '));
      if (l.table) {
        var c = document.createElement('code');
        c.textContent = l.table;
        li.appendChild(c);
        li.appendChild(document.createTextNode(' '));
      }
      var m = document.createElement('span');
      m.className = 'msg';
      m.textContent = l.message;
      li.appendChild(m);
      list.appendChild(li);
      lastLog = l.id;
    });
  }

  function logsURL() {
    var q = ['limit=500'];
    if (lastLog) q.push('after=' + encodeURIComponent(lastLog));
    if (level) q.push('level=' + encodeURIComponent(level));
    return '/api/v1/runs/' + encodeURIComponent(id) + '/logs?' + q.join('&');
  }

  function tick() {
    if (busy) return;
    busy = true;
    getJSON('/api/v1/runs/' + encodeURIComponent(id))
      .then(function (run) {
        showRun(run);
        return getJSON(logsURL()).then(function (logs) {
          addLogs(logs.items || []);
          if (!run.active) { window.clearInterval(timer); window.location.reload(); }
        });
      })
      .catch(function () { /* try again at the next tick */ })
      .then(function () { busy = false; });
  }
  var timer = window.setInterval(tick, 2000);
})();

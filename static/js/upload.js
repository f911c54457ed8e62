/* upload.js - a progress bar for the landing zone upload form
 * (templates/landing/show.mustache, form[data-upload]).
 *
 * Progressive enhancement only: without this file the form posts as it is
 * and the server answers with a redirect to the zone page. With it, the same
 * multipart form goes out through XMLHttpRequest (the CSRF token is in the
 * form's action URL, as for the plain post), asking for JSON; the bar follows
 * the upload's progress events, and on success the browser goes to the zone
 * page, which shows each file's outcome. Errors (too large, not allowed, cut
 * off) are shown next to the bar and the form can be sent again. */
(function () {
  'use strict';

  function human(n) {
    var units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    var u = 0;
    while (n >= 1024 && u < units.length - 1) {
      n /= 1024;
      u++;
    }
    return (u === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[u];
  }

  function enhance(form) {
    var box = form.querySelector('.upload-progress');
    var bar = box && box.querySelector('progress');
    var status = box && box.querySelector('[role="status"]');
    var button = form.querySelector('button[type="submit"]');
    if (!box || !bar || !status || !button || !window.FormData || !window.XMLHttpRequest) {
      return;
    }

    function fail(text) {
      status.textContent = text;
      status.classList.add('field-error');
      button.disabled = false;
    }

    form.addEventListener('submit', function (ev) {
      if (ev.defaultPrevented) {
        return;
      }
      ev.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', function (e) {
        if (!e.lengthComputable || e.total === 0) {
          return;
        }
        var pct = Math.floor((e.loaded * 100) / e.total);
        bar.value = pct;
        status.textContent = 'Uploading: ' + pct + '% (' + human(e.loaded) + ' of ' +
          human(e.total) + ')';
      });
      xhr.addEventListener('load', function () {
        var body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          body = null;
        }
        if (xhr.status === 201 && body) {
          bar.value = 100;
          status.textContent = body.message || 'Uploaded.';
          window.location.assign(body.location || window.location.pathname);
          return;
        }
        fail(body && body.detail ? body.detail : 'The upload failed (HTTP ' + xhr.status + ').');
      });
      xhr.addEventListener('error', function () {
        fail('The upload was interrupted. Check the connection and try again.');
      });
      xhr.addEventListener('abort', function () {
        fail('The upload was cancelled.');
      });
      box.hidden = false;
      bar.value = 0;
      status.classList.remove('field-error');
      status.textContent = 'Starting the upload\u2026';
      button.disabled = true;
      xhr.send(new FormData(form));
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var forms = document.querySelectorAll('form[data-upload]');
    for (var i = 0; i < forms.length; i++) {
      enhance(forms[i]);
    }
  });
})();

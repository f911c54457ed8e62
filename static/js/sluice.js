/* sluice.js - progressive enhancement only; every page works without it.
 * - forms and buttons with data-confirm ask before submitting. */
document.addEventListener('submit', function (ev) {
  var form = ev.target;
  var msg = form.getAttribute('data-confirm') ||
    (ev.submitter && ev.submitter.getAttribute('data-confirm'));
  if (msg && !window.confirm(msg)) ev.preventDefault();
}, true);

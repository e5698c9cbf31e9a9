/* Spreadsheet import pages: busy buttons while a file is checked or imported, and the progress bar
   of a running import (polls /catalog/import/<id>/progress). No inline scripts: the CSP forbids them. */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var RETRY_MS = 3000;

  // <form data-import-upload> / <form data-import-commit>: one submission, with a busy label.
  function setupBusyForms() {
    document.querySelectorAll("form[data-import-upload], form[data-import-commit]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
        form.setAttribute("data-submitted", "1");
        var button = form.querySelector("button[type=submit][data-busy-label]");
        if (button) {
          button.disabled = true;
          var spinner = document.createElement("span");
          spinner.className = "spinner-border spinner-border-sm me-1";
          spinner.setAttribute("aria-hidden", "true");
          button.textContent = " " + button.getAttribute("data-busy-label");
          button.insertBefore(spinner, button.firstChild);
        }
      });
    });
  }

  function setupProgress() {
    var box = document.querySelector("[data-import-progress]");
    if (!box) { return; }
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("[data-import-bar]");
    var meter = box.querySelector("[role=progressbar]");
    var count = box.querySelector("[data-import-count]");
    var template = box.getAttribute("data-count-text") || "{done} / {total}";

    function show(done, total) {
      var percent = total > 0 ? Math.min(100, Math.round(done * 100 / total)) : 0;
      bar.style.width = percent + "%";  // CSSOM, allowed by the CSP (style attributes are not)
      bar.textContent = percent + "%";
      if (meter) { meter.setAttribute("aria-valuenow", String(done)); }
      if (count) {
        // every row is built; the database is still saving them in one transaction
        var saving = total > 0 && done >= total && box.getAttribute("data-saving-text");
        count.textContent = saving || template.replace("{done}", done).replace("{total}", total);
      }
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          show(data.processed, data.total);
          if (data.status === "running") {
            window.setTimeout(poll, POLL_MS);
          } else {
            bar.style.width = "100%";
            if (count) { count.textContent = box.getAttribute("data-done-text"); }
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, RETRY_MS); });
    }

    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupBusyForms();
    setupProgress();
  });
})();

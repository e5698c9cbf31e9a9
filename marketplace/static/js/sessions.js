/* Matchmaking-session pages (templates/sessions/). No inline scripts (the CSP forbids them). */
(function () {
  "use strict";

  // <input data-filter-select="#id">: hide the options of that <select multiple> whose text does not
  // contain what is typed (chosen options always stay visible).
  function setupSelectFilters() {
    document.querySelectorAll("input[data-filter-select]").forEach(function (input) {
      var select = document.querySelector(input.getAttribute("data-filter-select"));
      if (!select) { return; }
      input.addEventListener("input", function () {
        var wanted = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(select.options, function (option) {
          var match = !wanted || option.selected || option.text.toLowerCase().indexOf(wanted) !== -1 ||
            option.value === wanted;
          option.hidden = !match;
        });
      });
    });
  }

  // <form data-auto-submit>: a scanned check-in link checks the company in at once (a POST, with its
  // CSRF token); the button stays for when scripts are off.
  function setupAutoSubmit() {
    var form = document.querySelector("form[data-auto-submit]");
    if (form && !form.dataset.sent) {
      form.dataset.sent = "1";
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      form.submit();
    }
  }

  // <button data-print>: print the page (the badge sheet).
  function setupPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupSelectFilters();
    setupAutoSubmit();
    setupPrint();
  });
})();

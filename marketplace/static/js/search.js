/* Search pages: a changed sort order, checkbox or select submits the search form at once.
   Without JavaScript the "Search" and "Apply filters" buttons do the same. No inline scripts (CSP).
   The script ends the page, so the form is there: it binds at once (not at DOMContentLoaded) and marks the
   form data-autosubmit-ready, which tests wait for before they change a field. */
(function () {
  "use strict";
  function bind() {
    var form = document.getElementById("search-form");
    if (!form) { return; }
    form.querySelectorAll("[data-autosubmit]").forEach(function (field) {
      field.addEventListener("change", function () {
        if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
      });
    });
    // empty fields would only lengthen the address: leave them out of the query string
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name], select[name]").forEach(function (field) {
        if (field.value === "" && field.type !== "checkbox") { field.disabled = true; }
      });
      window.setTimeout(function () {
        form.querySelectorAll("input[name]:disabled, select[name]:disabled").forEach(function (field) {
          field.disabled = false;
        });
      }, 0);
    });
    form.setAttribute("data-autosubmit-ready", "");
  }
  if (document.readyState === "loading" && !document.getElementById("search-form")) {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();

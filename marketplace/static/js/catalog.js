/* Catalog pages: repeated rows (price breaks, certifications), the HS picker, bulk actions.
   No inline scripts anywhere (the CSP forbids them); every page works without this file. */
(function () {
  "use strict";

  // <div data-rows> … <tr data-row> … <button data-remove-row> … <button data-add-row>
  function setupRows() {
    document.querySelectorAll("[data-rows]").forEach(function (box) {
      var body = box.querySelector("[data-rows-body]");
      var add = box.querySelector("[data-add-row]");
      if (!body) { return; }

      function renumber() {
        body.querySelectorAll("[data-row]").forEach(function (row, index) {
          var cell = row.querySelector("[data-row-number]");
          if (cell) { cell.textContent = String(index + 1); }
        });
      }
      function clear(row) {
        row.querySelectorAll("input, select").forEach(function (input) {
          input.value = "";
          input.classList.remove("is-invalid");
          if (input.hasAttribute("data-first-only")) { input.removeAttribute("placeholder"); }
        });
      }
      body.addEventListener("click", function (event) {
        var button = event.target.closest("[data-remove-row]");
        if (!button) { return; }
        var row = button.closest("[data-row]");
        if (body.querySelectorAll("[data-row]").length > 1) { row.remove(); } else { clear(row); }
        renumber();
      });
      if (add) {
        add.classList.remove("d-none");
        add.addEventListener("click", function () {
          var rows = body.querySelectorAll("[data-row]");
          var copy = rows[rows.length - 1].cloneNode(true);
          clear(copy);
          body.appendChild(copy);
          renumber();
          var first = copy.querySelector("input, select");
          if (first) { first.focus(); }
        });
      }
    });
  }

  // <input data-hs-url="/catalog/hs.json" list="hs-options" data-hs-target="#hs-name">
  function setupHsPicker() {
    document.querySelectorAll("input[data-hs-url]").forEach(function (input) {
      var list = document.getElementById(input.getAttribute("list"));
      var target = document.querySelector(input.getAttribute("data-hs-target"));
      var timer = null;
      var latest = 0;

      function digits(text) { return (text || "").replace(/[^0-9]/g, ""); }
      function lookup() {
        var query = input.value.trim();
        var ticket = ++latest;
        fetch(input.getAttribute("data-hs-url") + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (entries) {
            if (ticket !== latest) { return; }
            if (list) {
              list.innerHTML = "";
              entries.forEach(function (entry) {
                var option = document.createElement("option");
                option.value = entry.code;
                option.label = entry.code + " · " + entry.name;
                option.textContent = entry.code + " · " + entry.name;
                list.appendChild(option);
              });
            }
            if (target) {
              var code = digits(query);
              var known = entries.filter(function (entry) {
                return code.length >= 2 && (entry.code === code.slice(0, 4) || entry.code === code);
              })[0] || entries.filter(function (entry) { return entry.code === code.slice(0, 2); })[0];
              target.textContent = known ? known.code + " · " + known.name : "";
            }
          })
          .catch(function () { /* the server still validates the code */ });
      }
      input.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(lookup, 200);
      });
    });
  }

  // Bulk form: "select all", and a confirmation for buttons carrying data-confirm.
  function setupBulk() {
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var name = all.getAttribute("data-select-all");
      var form = all.closest("form");
      all.addEventListener("change", function () {
        form.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    });
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("button[data-confirm]")) { return; }
      form.addEventListener("submit", function (event) {
        var button = event.submitter;
        if (button && button.hasAttribute("data-confirm") && !window.confirm(button.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupRows();
    setupHsPicker();
    setupBulk();
  });
})();

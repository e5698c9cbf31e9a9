/* Rongtong page behaviour. No inline scripts anywhere (the CSP forbids them). */
(function () {
  "use strict";

  // Province → city picker: <select data-province-picker data-city-target="#id"> and the city <select>.
  function setupRegionPickers() {
    var pickers = document.querySelectorAll("select[data-province-picker]");
    if (!pickers.length) { return; }
    fetch(pickers[0].getAttribute("data-regions-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        pickers.forEach(function (province) {
          var city = document.querySelector(province.getAttribute("data-city-target"));
          if (!city) { return; }
          var placeholder = city.getAttribute("data-placeholder") || "";
          function fill() {
            var keep = city.value;
            var list = data[province.value] || [];
            city.innerHTML = "";
            var empty = document.createElement("option");
            empty.value = ""; empty.textContent = placeholder;
            city.appendChild(empty);
            list.forEach(function (pair) {
              var option = document.createElement("option");
              option.value = pair[0]; option.textContent = pair[1];
              if (pair[0] === keep) { option.selected = true; }
              city.appendChild(option);
            });
            city.disabled = list.length === 0;
          }
          province.addEventListener("change", fill);
          fill();
        });
      })
      .catch(function () { /* the server still validates; the full list stays usable */ });
  }

  // <form data-confirm="message">: ask before destructive actions.
  function setupConfirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupRegionPickers();
    setupConfirmations();
  });
})();

/* Report charts (templates/reports/): <canvas data-chart="ID"> draws the Chart.js spec in
   <script type="application/json" id="ID"> (built by marketplace/reports/charts.py). No inline script:
   the data block is not executed, and Chart.js sizes the canvas through the CSSOM, which the CSP allows. */
(function () {
  "use strict";

  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function scalesFor(spec) {
    var grid = { color: "rgba(0, 0, 0, 0.06)" };
    if (spec.horizontal) {
      return {
        x: { beginAtZero: true, grid: grid, ticks: { precision: 0 } },
        y: { grid: { display: false } }
      };
    }
    var scales = {
      x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 40 } },
      y: { beginAtZero: true, position: "left", grid: grid, ticks: { precision: 0 },
           title: { display: true, text: spec.countLabel } }
    };
    if (spec.moneyAxis) {
      scales.money = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                       title: { display: true, text: spec.moneyLabel } };
    }
    return scales;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") { return; }
    var spec;
    try { spec = JSON.parse(source.textContent); } catch (error) { return; }
    new window.Chart(canvas, {
      type: spec.type,
      data: spec.data,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: scalesFor(spec),
        plugins: {
          legend: { display: spec.data.datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                var label = item.dataset.label ? item.dataset.label + ": " : "";
                return label + numberFormat.format(item.parsed[spec.horizontal ? "x" : "y"]);
              }
            }
          }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();

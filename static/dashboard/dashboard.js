/* Draws the dashboard's four charts from the JSON the server rendered (no further requests). */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var common = { responsive: true, maintainAspectRatio: false, animation: false,
                   plugins: { legend: { position: "bottom" } } };
    function make(id, type, chartData, extra) {
      var canvas = document.getElementById(id);
      if (!canvas) { return; }
      new Chart(canvas, { type: type, data: chartData, options: Object.assign({}, common, extra || {}) });
    }
    make("chart-weekly", "bar", data.weekly, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
    make("chart-distribution", "bar", data.distribution, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } });
    make("chart-compliance", "line", data.compliance, { scales: { y: { min: 0, max: 100 } } });
    make("chart-workload", "bar", data.workload, { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();

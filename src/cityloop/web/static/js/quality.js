// Chart builder of the data-quality dashboard (quality.html), added to the registry of
// charts.js: grouped bars, one group per department and one bar per measure (in %).
(function () {
  "use strict";
  var COLOURS = ["#1f5fa8", "#157f3b", "#f0a202", "#7b5ea7"];
  window.cityloopCharts.builders.qualityBars = function (data) {
    return {
      color: COLOURS,
      grid: { left: 48, right: 16, top: 40, bottom: 80 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) {
        return v === null || v === undefined ? "—" : v + "%"; } },
      xAxis: { type: "category", data: data.departments, axisLabel: { interval: 0, rotate: 30, width: 120, overflow: "truncate" } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.values, barMaxWidth: 18 };
      })
    };
  };
})();

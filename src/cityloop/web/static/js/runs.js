// Chart builders of the evaluation run pages (run.html, runs_compare.html), added to the
// registry of charts.js: dimension medians as bars, and rank in run A against rank in run B.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;

  builders.runMedians = function (data) {
    return {
      grid: { left: 48, right: 16, top: 24, bottom: 64 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", min: 0 },
      series: [{ type: "bar", data: data.values, itemStyle: { color: "#1f5fa8" },
        label: { show: true, position: "top",
          formatter: function (p) { return p.value === null ? "" : p.value.toFixed(1); } } }]
    };
  };

  builders.rankScatter = function (points, el) {
    var top = points.reduce(function (m, p) { return Math.max(m, p[0], p[1]); }, 1);
    return {
      grid: { left: 56, right: 24, top: 24, bottom: 48 },
      tooltip: { formatter: function (p) {
        return p.data[2] + "：A " + p.data[0] + " → B " + p.data[1]; } },
      xAxis: { type: "value", name: el.dataset.x, nameLocation: "middle", nameGap: 28,
        min: 1, max: top, inverse: false },
      yAxis: { type: "value", name: el.dataset.y, nameLocation: "middle", nameGap: 36,
        min: 1, max: top },
      series: [
        { type: "scatter", data: points, symbolSize: 9, itemStyle: { color: "#1f5fa8" } },
        // The diagonal: units on it kept their rank.
        { type: "line", data: [[1, 1], [top, top]], symbol: "none", silent: true,
          lineStyle: { type: "dashed", color: "#9aa5b1" } }
      ]
    };
  };
})();

// Chart builders of the what-if and robustness pages (whatif.html, robustness.html), added to
// the registry of charts.js: re-weighted totals, rank intervals and Sobol sensitivity bars.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var UP = "#157f3b", DOWN = "#b42318", SAME = "#1f5fa8", GREY = "#9aa5b1";

  // New totals of the best units as bars (green: moved up, red: moved down), the run's own
  // totals as grey diamonds beside them.
  builders.whatifBars = function (data, el) {
    var colours = data.shifts.map(function (s) { return s > 0 ? UP : (s < 0 ? DOWN : SAME); });
    return {
      grid: { left: 120, right: 32, top: 32, bottom: 32 },
      legend: { top: 0, data: [el.dataset.new, el.dataset.old] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      yAxis: { type: "category", data: data.names, inverse: true, axisLabel: { interval: 0 } },
      xAxis: { type: "value", min: function (v) { return Math.floor(v.min * 0.95); } },
      series: [
        { name: el.dataset.new, type: "bar", barMaxWidth: 14,
          data: data.totals.map(function (v, i) { return { value: v, itemStyle: { color: colours[i] } }; }) },
        { name: el.dataset.old, type: "scatter", symbol: "diamond", symbolSize: 9,
          itemStyle: { color: GREY }, data: data.run_totals }
      ]
    };
  };

  // For each unit (sorted by median rank): the 5–95 % rank interval as a floating bar, the
  // median as a diamond and the rank of the evaluation itself as a dot. Rank 1 is at the left.
  builders.rankIntervals = function (data, el) {
    var width = data.p95.map(function (hi, i) { return hi - data.p05[i]; });
    return {
      grid: { left: 120, right: 32, top: 32, bottom: 40 },
      legend: { top: 0, data: [el.dataset.interval, el.dataset.median, el.dataset.point] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) {
        var i = ps[0].dataIndex;
        return data.names[i] + "<br>" + el.dataset.interval + "：" + data.p05[i] + "–" + data.p95[i] +
          "<br>" + el.dataset.median + "：" + data.median[i] + "<br>" + el.dataset.point + "：" + data.point[i];
      } },
      yAxis: { type: "category", data: data.names, inverse: true, axisLabel: { interval: 0 } },
      xAxis: { type: "value", min: 1, name: el.dataset.axis, nameLocation: "middle", nameGap: 26 },
      series: [
        { type: "bar", stack: "interval", silent: true, itemStyle: { color: "transparent" },
          data: data.p05.map(function (v) { return v - 1; }), barMaxWidth: 12 },
        { name: el.dataset.interval, type: "bar", stack: "interval", data: width,
          itemStyle: { color: "#9ec5ef" }, barMaxWidth: 12 },
        { name: el.dataset.median, type: "scatter", symbol: "diamond", symbolSize: 10,
          itemStyle: { color: SAME }, data: data.median },
        { name: el.dataset.point, type: "scatter", symbolSize: 7, itemStyle: { color: DOWN },
          data: data.point }
      ]
    };
  };

  // First-order (S1) and total-effect (ST) Sobol indices per uncertain choice.
  builders.sensitivityBars = function (data, el) {
    return {
      grid: { left: 48, right: 16, top: 32, bottom: 72 },
      legend: { top: 0, data: ["S1", "ST"] },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v.toFixed(3); } },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "value", min: 0, max: function (v) { return Math.max(1, Math.ceil(v.max * 10) / 10); },
        name: el.dataset.axis },
      series: [
        { name: "S1", type: "bar", data: data.S1, itemStyle: { color: SAME } },
        { name: "ST", type: "bar", data: data.ST, itemStyle: { color: "#f0a202" } }
      ]
    };
  };
})();

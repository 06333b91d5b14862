// Plan pages: ECharts builders of the roadmap (a Gantt chart as stacked bars with an invisible
// offset, one colour per domain, phases as bands), budget by year, the expected trajectory
// over the stage bands, and scenarios side by side. Registered before charts.js renders.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var BANDS = ["rgba(31,111,235,0.06)", "rgba(31,111,235,0.12)"];

  builders.planGantt = function (data) {
    var rows = data.rows.slice().reverse(); // first start at the top
    var labels = rows.map(function (r) { return r.label; });
    var offset = { type: "bar", stack: "gantt", silent: true, itemStyle: { color: "transparent" },
      data: rows.map(function (r) { return r.start - data.first; }),
      markArea: { silent: true, label: { position: "top", color: "#52606d" },
        data: data.phases.map(function (p, i) {
          return [{ name: p.name, xAxis: p.start - data.first, itemStyle: { color: BANDS[i % 2] } },
            { xAxis: p.end - data.first }];
        }) } };
    var series = [offset].concat(data.domains.map(function (domain) {
      return { type: "bar", stack: "gantt", name: domain, barMaxWidth: 18,
        data: rows.map(function (r) { return r.domain === domain ? r.end - r.start : "-"; }) };
    }));
    return {
      tooltip: { trigger: "item", formatter: function (p) {
        var r = rows[p.dataIndex];
        return r.label + "<br>" + r.domain + "：" + r.start + "–" + (r.end - 1);
      } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 24, top: 64, bottom: 32, containLabel: true },
      xAxis: { type: "value", min: 0, max: data.last - data.first, interval: 1, name: data.year,
        axisLabel: { formatter: function (v) { return String(data.first + v); } } },
      yAxis: { type: "category", data: labels, axisLabel: { width: 220, overflow: "truncate" } },
      series: series
    };
  };

  builders.planBudget = function (data) {
    var n = data.names;
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 40, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: data.years },
      yAxis: [{ type: "value", name: "万元" }, { type: "value", name: "FTE", splitLine: { show: false } }],
      series: [
        { type: "bar", name: n.used, data: data.used, barMaxWidth: 36 },
        { type: "line", name: n.available, data: data.available, step: "middle", symbol: "none",
          lineStyle: { type: "dashed", width: 2 } },
        { type: "line", name: n.staff_used, data: data.staff_used, yAxisIndex: 1 },
        { type: "line", name: n.staff_available, data: data.staff_available, yAxisIndex: 1,
          step: "middle", symbol: "none", lineStyle: { type: "dotted" } }
      ]
    };
  };

  builders.planTrajectory = function (data) {
    var cuts = [0].concat(data.thresholds).concat([data.scale]);
    var bands = data.stages.map(function (name, i) {
      return [{ name: name, yAxis: cuts[i], itemStyle: { color: BANDS[i % 2] } }, { yAxis: cuts[i + 1] }];
    });
    var low = Math.min.apply(null, data.totals), high = Math.max.apply(null, data.totals);
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 72, top: 24, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: data.years, boundaryGap: false },
      yAxis: { type: "value", min: Math.max(0, Math.floor(low - 5)), max: Math.min(data.scale, Math.ceil(high + 2)) },
      series: [{ type: "line", name: data.name, data: data.totals,
        markArea: { silent: true, label: { position: "right", color: "#52606d" }, data: bands } }]
    };
  };

  builders.planScenarios = function (data) {
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 24, top: 24, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", scale: true },
      series: [{ type: "bar", name: data.name, data: data.totals, barMaxWidth: 48,
        markLine: { symbol: "none", data: [{ yAxis: data.baseline }] } }]
    };
  };
})();

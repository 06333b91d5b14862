// Supervision pages: ECharts builders of the programme's traffic lights (projects per phase and
// per domain as green/amber/red stacked bars; the tables beside them say the same in text) and
// the S-curve of cumulative PV, EV and AC. Registered before charts.js renders.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var COLOURS = ["#2e9d5b", "#e6a700", "#c8372d"]; // green, amber, red: the lights' own colours

  builders.supLights = function (data) {
    var parts = [data.phases, data.domains];
    // Each part's height follows its number of rows, plus one row's worth for its title.
    var sizes = parts.map(function (p) { return Math.max(p.groups.length, 1) + 1.5; });
    var total = sizes[0] + sizes[1];
    var grids = [], xAxes = [], yAxes = [], series = [], titles = [];
    var top = 8;
    parts.forEach(function (part, i) {
      var height = Math.round(78 * sizes[i] / total);
      titles.push({ text: i === 0 ? data.titles.phases : data.titles.domains, top: top + "%",
        left: 0, textStyle: { fontSize: 13, fontWeight: "normal" } });
      grids.push({ left: 8, right: 24, top: (top + 5) + "%", height: (height - 6) + "%", containLabel: true });
      xAxes.push({ type: "value", gridIndex: i, minInterval: 1 });
      yAxes.push({ type: "category", gridIndex: i, data: part.groups, inverse: true,
        axisLabel: { width: 140, overflow: "truncate" } });
      part.names.forEach(function (name, k) {
        series.push({ type: "bar", name: name, stack: "lights" + i, xAxisIndex: i, yAxisIndex: i,
          barMaxWidth: 22, itemStyle: { color: COLOURS[k] },
          data: part.counts.map(function (c) { return c[k] || "-"; }) });
      });
      top += height + 4;
    });
    return {
      title: titles,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, data: data.phases.names },
      grid: grids, xAxis: xAxes, yAxis: yAxes, series: series
    };
  };

  builders.supCurve = function (data) {
    var n = data.names;
    function pairs(values) {
      return data.dates.map(function (d, i) { return [d, values[i]]; })
        .filter(function (p) { return p[1] !== null; });
    }
    return {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v.toLocaleString() + " 万元"; } },
      legend: { top: 0 },
      grid: { left: 8, right: 32, top: 40, bottom: 24, containLabel: true },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "万元" },
      series: [
        { type: "line", name: n.pv, data: pairs(data.pv), symbol: "none", lineStyle: { type: "dashed", width: 2 },
          markLine: { symbol: "none", label: { formatter: n.bac, position: "insideEndTop" },
            data: [{ yAxis: data.bac }] } },
        { type: "line", name: n.ev, data: pairs(data.ev), symbol: "none", lineStyle: { width: 3 },
          markLine: { symbol: "none", label: { formatter: data.status_label }, lineStyle: { color: "#52606d" },
            data: [{ xAxis: data.status_date }] } },
        { type: "line", name: n.ac, data: pairs(data.ac), symbol: "none", lineStyle: { width: 2 } }
      ]
    };
  };
})();

// Outcome-assessment page: the forest plot. One row per project × indicator: the promised
// low–high band (light bar) with its likely value (diamond), and the measured estimate (dot,
// coloured by verdict) with its confidence interval (whiskers). Registered before charts.js.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var TONES = { red: "#b42318", amber: "#b7791f", green: "#157f3b" };

  builders.outcomeForest = function (data) {
    var rows = data.rows.slice().reverse(); // the first project at the top
    var labels = rows.map(function (r) { return r.label; });
    var whiskers = {
      type: "custom", name: data.names.measured, z: 3,
      data: rows.map(function (r, i) { return [r.ci_low, r.ci_high, i]; }),
      renderItem: function (params, api) {
        var from = api.coord([api.value(0), api.value(2)]);
        var to = api.coord([api.value(1), api.value(2)]);
        var cap = 6;
        var style = { stroke: "#344054", lineWidth: 1.5 };
        return { type: "group", children: [
          { type: "line", shape: { x1: from[0], y1: from[1], x2: to[0], y2: to[1] }, style: style },
          { type: "line", shape: { x1: from[0], y1: from[1] - cap, x2: from[0], y2: from[1] + cap }, style: style },
          { type: "line", shape: { x1: to[0], y1: to[1] - cap, x2: to[0], y2: to[1] + cap }, style: style }
        ] };
      }
    };
    return {
      tooltip: { trigger: "item", formatter: function (p) {
        var r = rows[p.dataIndex];
        return r.label + "<br>" + data.names.band + "：" + r.low + " – " + r.likely + " – " + r.high +
          "<br>" + data.names.measured + "：" + r.estimate.toFixed(2) + " [" + r.ci_low.toFixed(2) +
          ", " + r.ci_high.toFixed(2) + "]<br>" + r.verdict;
      } },
      legend: { top: 0, data: [data.names.band, data.names.likely, data.names.measured] },
      grid: { left: 8, right: 32, top: 40, bottom: 36, containLabel: true },
      xAxis: { type: "value", name: data.axis, nameLocation: "middle", nameGap: 24, scale: true },
      yAxis: { type: "category", data: labels, axisLabel: { width: 260, overflow: "truncate" } },
      series: [
        { type: "bar", stack: "band", silent: true, itemStyle: { color: "transparent" },
          data: rows.map(function (r) { return r.low; }), barWidth: 14 },
        { type: "bar", stack: "band", name: data.names.band, barWidth: 14,
          itemStyle: { color: "rgba(31,111,235,0.18)" },
          data: rows.map(function (r) { return r.high - r.low; }) },
        { type: "scatter", name: data.names.likely, symbol: "diamond", symbolSize: 12,
          itemStyle: { color: "#1f6feb" }, data: rows.map(function (r, i) { return [r.likely, i]; }) },
        whiskers,
        { type: "scatter", name: data.names.measured, symbolSize: 11, z: 4,
          data: rows.map(function (r, i) {
            return { value: [r.estimate, i], itemStyle: { color: TONES[r.tone] } };
          }),
          markLine: { silent: true, symbol: "none", lineStyle: { color: "#98a2b3", type: "dashed" },
            data: [{ xAxis: 0 }] } }
      ]
    };
  };
})();

// Sensors page: the ECharts builder of one attribute's series (numbers as a line, states as
// a step line over their categories). Registered before charts.js renders on DOMContentLoaded.
(function () {
  "use strict";
  window.cityloopCharts.builders.sensorSeries = function (data) {
    var categories = data.numeric ? null : Array.from(new Set(data.points.map(function (p) { return p[1]; })));
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 60, right: 24, top: 24, bottom: 40 },
      xAxis: { type: "time" },
      yAxis: data.numeric ? { type: "value", scale: true } : { type: "category", data: categories },
      series: [{ type: "line", name: data.attribute, data: data.points,
        // Markers only when there are few readings: a lone reading has no line to draw.
        showSymbol: data.points.length < 50,
        step: data.numeric ? false : "end", sampling: "lttb" }]
    };
  };
})();

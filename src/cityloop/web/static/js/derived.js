// Derived-indicator provenance: the daily mean, min and max of a series under a derived value.
(function () {
  "use strict";
  window.cityloopCharts.builders.derivedDaily = function (data) {
    return {
      tooltip: { trigger: "axis" },
      legend: { data: [data.labels.mean, data.labels.min, data.labels.max] },
      grid: { left: 50, right: 20, top: 30, bottom: 60 },
      xAxis: { type: "category", data: data.day },
      yAxis: { type: "value", scale: true },
      dataZoom: [{ type: "slider" }],
      series: [
        { name: data.labels.min, type: "line", data: data.min, showSymbol: false, lineStyle: { opacity: 0.5 } },
        { name: data.labels.mean, type: "line", data: data.mean, showSymbol: false },
        { name: data.labels.max, type: "line", data: data.max, showSymbol: false, lineStyle: { opacity: 0.5 } }
      ]
    };
  };
})();

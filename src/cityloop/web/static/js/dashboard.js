// Chart builders of the city overview and the ranking dashboards (see charts.js for how
// [data-chart] elements are rendered). Each returns an ECharts option from the page's JSON.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var palette = ["#1f5fa8", "#9aa5b1", "#e07a1f"];
  function round(v) { return v === null ? null : Math.round(v * 100) / 100; }

  // The city against the peer median and the best city, one axis per first-level dimension.
  builders.radar = function (data) {
    var dims = data.dimensions;
    var series = [
      { name: data.labels.city, value: dims.map(function (d) { return round(d.score); }) },
      { name: data.labels.median, value: dims.map(function (d) { return round(d.median); }) },
      { name: data.labels.best, value: dims.map(function (d) { return round(d.best); }) }
    ];
    return {
      color: palette,
      tooltip: {},
      legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
      radar: { radius: "65%", indicator: dims.map(function (d) { return { name: d.name, max: data.scale }; }) },
      series: [{ type: "radar", data: series, areaStyle: { opacity: 0.08 } }]
    };
  };

  // The city's total and the peer median over the run's years.
  builders.trend = function (data) {
    return {
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: [data.labels.city, data.labels.median] },
      xAxis: { type: "category", data: data.trend.map(function (p) { return String(p.year); }) },
      yAxis: { type: "value", max: data.scale, name: data.labels.total },
      series: [
        { name: data.labels.city, type: "line", data: data.trend.map(function (p) { return round(p.score); }) },
        { name: data.labels.median, type: "line", lineStyle: { type: "dashed" },
          data: data.trend.map(function (p) { return round(p.median); }) }
      ]
    };
  };

  // Totals of the cities shown, best first; the zoom keeps 300 bars readable.
  builders.rankbar = function (data) {
    var many = data.bar.names.length > 30;
    return {
      color: palette,
      tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, bottom: many ? 90 : 60 },
      xAxis: { type: "category", data: data.bar.names, axisLabel: { rotate: 60, interval: "auto" } },
      yAxis: { type: "value" },
      dataZoom: many ? [{ type: "slider", start: 0, end: Math.min(100, 3000 / data.bar.names.length) }] : [],
      series: [{ type: "bar", data: data.bar.values.map(round) }]
    };
  };

  // Two chosen measures per city (x, y, name).
  builders.scatter = function (data) {
    return {
      color: palette,
      tooltip: { formatter: function (p) { return p.value[2] + "<br>" + data.scatter.x + "：" + p.value[0] + "<br>" + data.scatter.y + "：" + p.value[1]; } },
      xAxis: { type: "value", name: data.scatter.x, scale: true },
      yAxis: { type: "value", name: data.scatter.y, scale: true },
      series: [{ type: "scatter", symbolSize: 8,
        data: data.scatter.points.filter(function (p) { return p[0] !== null && p[1] !== null; })
          .map(function (p) { return [round(p[0]), round(p[1]), p[2]]; }) }]
    };
  };

  // How many cities are in each development stage.
  builders.stages = function (data) {
    return {
      color: ["#c5d4e6", "#8fb0d6", "#4f86c6", "#1f5fa8"],
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.stages,
        label: { position: "inside", formatter: "{c}" } }]
    };
  };
})();

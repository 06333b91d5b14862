/* Project catalogue (项目库) charts: a project's cost and staff by construction year.
   Registered with charts.js, which renders every [data-chart] element. */
(function () {
  "use strict";
  const charts = window.cityloopCharts;
  if (!charts) return;
  charts.builders.planCatalogueCost = function (data) {
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 32, bottom: 28 },
      xAxis: { type: "category", data: data.years },
      yAxis: [
        { type: "value", name: data.cost_label || "" },
        { type: "value", name: data.staff_label || "", splitLine: { show: false } },
      ],
      series: [
        { name: data.cost_label || "cost", type: "bar", data: data.cost, itemStyle: { color: "#1f4e78" } },
        { name: data.staff_label || "staff", type: "line", yAxisIndex: 1, data: data.staff, itemStyle: { color: "#c0504d" } },
      ],
    };
  };
})();

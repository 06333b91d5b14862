// Chart builder of the diagnosis page (plan_diagnosis.html), added to the registry of charts.js:
// each plan type's share of the emphasis as a bar stacked from its three parts.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var COLOURS = { evaluation: "#1f5fa8", needs: "#f0a202", stage: "#9aa5b1" };
  var PARTS = ["evaluation", "needs", "stage"];

  // One horizontal bar per plan type (the recommended one on top); its segments are what the
  // evaluation gap, the survey needs and the development stage each add to the share, in %.
  builders.planEmphasis = function (data, el) {
    return {
      grid: { left: 120, right: 48, top: 36, bottom: 36 },
      legend: { top: 0, data: PARTS.map(function (p) { return el.dataset[p]; }) },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        valueFormatter: function (v) { return v.toFixed(1) + " %"; } },
      yAxis: { type: "category", data: data.types, inverse: true, axisLabel: { interval: 0 } },
      xAxis: { type: "value", min: 0, name: el.dataset.axis, nameLocation: "middle", nameGap: 24 },
      series: PARTS.map(function (p, k) {
        var last = k === PARTS.length - 1;
        return { name: el.dataset[p], type: "bar", stack: "share", barMaxWidth: 26,
          itemStyle: { color: COLOURS[p] }, data: data.parts[p],
          label: last ? { show: true, position: "right", formatter: function (q) {
            return data.share[q.dataIndex].toFixed(1) + " %"; } } : undefined };
      })
    };
  };
})();

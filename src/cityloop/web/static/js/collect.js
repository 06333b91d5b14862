// Collection page charts: completeness per department as horizontal bars (share in %).
// Data: {names: [...], shares: [...], missing: [...], label: "..."} from #completeness-data.
(function () {
  "use strict";
  if (!window.cityloopCharts) { return; }
  // The template sizes the element by the number of departments (one bar row each).
  window.cityloopCharts.builders.completeness = function (data) {
    return {
      grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (items) {
          var i = items[0].dataIndex;
          return data.names[i] + "：" + data.shares[i] + "%（" + data.missing[i] + "）";
        } },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: data.names, inverse: true },
      series: [{ type: "bar", name: data.label, data: data.shares, barMaxWidth: 18,
        itemStyle: { color: "#1f5fa8" },
        label: { show: true, position: "right", formatter: "{c}%" } }]
    };
  };
})();

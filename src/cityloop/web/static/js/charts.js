// Render every element with data-chart from the JSON block named by data-source.
// Inline scripts are forbidden by the page's CSP, so the data travels as application/json.
// Page scripts add builders: window.cityloopCharts.builders.NAME = function (data, el) { ... }
// returning an ECharts option; charts render on load and after every HTMX swap.
(function () {
  "use strict";
  var builders = {
    sunburst: function (data) {
      return {
        tooltip: { formatter: function (p) { return p.name + "：" + (p.value * 100).toFixed(2) + "%"; } },
        series: [{ type: "sunburst", data: data, radius: ["12%", "95%"], sort: null,
          label: { rotate: "radial", minAngle: 8 },
          // Names on the first two rings; indicators are too many to label, see the tooltip.
          levels: [{}, { r0: "12%", r: "42%", label: { rotate: "tangential" } },
            { r0: "42%", r: "74%" }, { r0: "74%", r: "84%", label: { show: false } },
            { r0: "84%", r: "92%", label: { show: false } }] }]
      };
    }
  };
  function render(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      var source = document.getElementById(el.dataset.source);
      if (!build || !source || !window.echarts) { return; }
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(JSON.parse(source.textContent), el), true);
      el.dataset.rendered = "true";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.cityloopCharts = { builders: builders, render: render };
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (e) { render(e.target); });
})();

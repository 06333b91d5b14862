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
  // A tooltip is HTML, and a builder's formatter joins names (a user's text) with <br>: keep
  // only the text and the line breaks of what it returns, so no name can become markup.
  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  function textAndBreaks(html) {
    var template = document.createElement("template");
    template.innerHTML = String(html);  // inert: nothing in a template loads or runs
    var parts = [];
    (function walk(node) {
      node.childNodes.forEach(function (child) {
        if (child.nodeName === "BR") { parts.push("<br>"); }
        else if (child.nodeType === Node.TEXT_NODE) { parts.push(escapeHtml(child.nodeValue)); }
        else { walk(child); }
      });
    })(template.content);
    return parts.join("");
  }
  function guardTooltips(option) {
    [option].concat(option.series || []).forEach(function (part) {
      var format = part.tooltip && part.tooltip.formatter;
      if (typeof format === "function") {
        part.tooltip.formatter = function () { return textAndBreaks(format.apply(this, arguments)); };
      }
    });
    return option;
  }
  function render(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.dataset.chart];
      var source = document.getElementById(el.dataset.source);
      if (!build || !source || !window.echarts) { return; }
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(guardTooltips(build(JSON.parse(source.textContent), el)), true);
      el.dataset.rendered = "true";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.cityloopCharts = { builders: builders, render: render };
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSwap", function (e) { render(e.target); });
})();

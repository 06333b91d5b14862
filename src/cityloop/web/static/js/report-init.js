// Draw every report chart from its JSON option (CityLoop reports, interactive HTML).
document.querySelectorAll("[data-report-chart]").forEach(function (el) {
  var source = document.getElementById(el.getAttribute("data-report-chart"));
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption(JSON.parse(source.textContent));
  el.setAttribute("data-rendered", "true");
  window.addEventListener("resize", function () { chart.resize(); });
});

// Chart builders of the survey dashboard (survey_dashboard.html), added to the registry of
// charts.js: indices with confidence-interval error bars, year-over-year changes and the
// importance–performance (IPA) scatter with its quadrant lines.
(function () {
  "use strict";
  var builders = window.cityloopCharts.builders;
  var BLUE = "#1f5fa8", UP = "#157f3b", DOWN = "#b42318", GREY = "#52606d";
  var QUADRANTS = { concentrate: DOWN, keep_up: UP, low_priority: "#9aa5b1", overkill: "#f0a202" };

  // A custom series drawing one horizontal whisker (low–high with end caps) per category.
  function errorBars(low, high, name) {
    return {
      name: name, type: "custom", z: 10, itemStyle: { color: GREY },
      data: low.map(function (lo, i) { return [i, lo, high[i]]; }),
      encode: { y: 0, x: [1, 2] },
      renderItem: function (params, api) {
        if (api.value(1) === null || api.value(2) === null || isNaN(api.value(1))) { return null; }
        var from = api.coord([api.value(1), api.value(0)]);
        var to = api.coord([api.value(2), api.value(0)]);
        var cap = api.size([0, 1])[1] * 0.18;
        var style = { stroke: GREY, lineWidth: 1.5 };
        return { type: "group", children: [
          { type: "line", shape: { x1: from[0], y1: from[1], x2: to[0], y2: to[1] }, style: style },
          { type: "line", shape: { x1: from[0], y1: from[1] - cap, x2: from[0], y2: from[1] + cap }, style: style },
          { type: "line", shape: { x1: to[0], y1: to[1] - cap, x2: to[0], y2: to[1] + cap }, style: style }
        ] };
      }
    };
  }

  function tooltip(data, el) {
    return function (ps) {
      var i = ps[0].dataIndex;
      return data.names[i] + "<br>" + el.dataset.value + "：" + data.values[i] +
        "<br>" + el.dataset.interval + "：" + data.low[i] + "–" + data.high[i];
    };
  }

  // Weighted index (0–100) per domain or district, with its interval as an error bar.
  builders.surveyIndexBars = function (data, el) {
    return {
      grid: { left: 150, right: 24, top: 28, bottom: 28 },
      legend: { top: 0, data: [el.dataset.value, el.dataset.interval] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltip(data, el) },
      yAxis: { type: "category", data: data.names, inverse: true, axisLabel: { interval: 0, width: 140, overflow: "truncate" } },
      xAxis: { type: "value", min: 0, max: 100 },
      series: [
        { name: el.dataset.value, type: "bar", data: data.values, barMaxWidth: 18, itemStyle: { color: BLUE } },
        errorBars(data.low, data.high, el.dataset.interval)
      ]
    };
  };

  // Change since the previous survey (points), green up / red down, with its interval.
  builders.surveyChangeBars = function (data, el) {
    return {
      grid: { left: 150, right: 24, top: 28, bottom: 28 },
      legend: { top: 0, data: [el.dataset.value, el.dataset.interval] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltip(data, el) },
      yAxis: { type: "category", data: data.names, inverse: true, axisLabel: { interval: 0, width: 140, overflow: "truncate" } },
      xAxis: { type: "value" },
      series: [
        { name: el.dataset.value, type: "bar", barMaxWidth: 18,
          data: data.values.map(function (v) { return { value: v, itemStyle: { color: v >= 0 ? UP : DOWN } }; }),
          markLine: { silent: true, symbol: "none", lineStyle: { color: GREY }, data: [{ xAxis: 0 }] } },
        errorBars(data.low, data.high, el.dataset.interval)
      ]
    };
  };

  // Satisfaction (x) against importance (y) per item; the grand means split the quadrants.
  builders.surveyIpa = function (data, el) {
    var byQuadrant = {};
    data.points.forEach(function (p) { (byQuadrant[p.quadrant] = byQuadrant[p.quadrant] || []).push(p); });
    var label = function (q) { return data.labels[q] || q; };
    var series = Object.keys(QUADRANTS).map(function (q) {
      return { name: label(q), type: "scatter", symbolSize: 11, itemStyle: { color: QUADRANTS[q] },
        data: (byQuadrant[q] || []).map(function (p) { return { name: p.name, value: p.value }; }),
        label: { show: true, position: "right", fontSize: 10, formatter: function (p) { return p.name; } } };
    });
    if (series.length && data.cuts.satisfaction !== undefined) {
      var lines = [{ xAxis: data.cuts.satisfaction }];
      if (data.cuts.importance !== undefined) { lines.push({ yAxis: data.cuts.importance }); }
      series[0].markLine = { silent: true, symbol: "none", lineStyle: { color: GREY, type: "dashed" },
        data: lines };
    }
    return {
      grid: { left: 56, right: 96, top: 40, bottom: 48 },
      legend: { top: 0 },
      tooltip: { formatter: function (p) { return p.name + "<br>" + el.dataset.x + "：" + p.value[0] + "<br>" + el.dataset.y + "：" + p.value[1]; } },
      xAxis: { type: "value", name: el.dataset.x, nameLocation: "middle", nameGap: 28, scale: true },
      yAxis: { type: "value", name: el.dataset.y, nameLocation: "middle", nameGap: 40, scale: true },
      series: series
    };
  };

  // The public link: one click selects it for copying (no inline handlers under the CSP).
  document.addEventListener("click", function (e) {
    if (e.target && e.target.matches && e.target.matches("input[data-copy]")) { e.target.select(); }
  });
})();

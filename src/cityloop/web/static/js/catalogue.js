// Chart builder of the resource catalogue page (catalogue.html), added to the registry of
// charts.js: the listed entries by sharing type (无条件共享 / 有条件共享 / 不予共享) as a ring.
(function () {
  "use strict";
  var COLOURS = ["#157f3b", "#f0a202", "#b42318"];

  builders().catalogueSharing = function (data) {
    return {
      color: COLOURS,
      animation: false,  // a still ring: screenshots and slow machines see the final state
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["45%", "70%"], center: ["50%", "45%"],
        label: { formatter: "{c}" },
        data: data.labels.map(function (label, i) { return { name: label, value: data.values[i] }; })
      }]
    };
  };

  function builders() { return window.cityloopCharts.builders; }
})();

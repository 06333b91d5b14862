// Public survey page: skip logic (show a question only when its condition holds; hiding it
// clears its answers, so nothing hidden is submitted) and exclusive choices ("none of these").
// Without this script every question shows and the server judges the answers alone.
(function () {
  "use strict";

  function answersOf(form, id) {
    var picked = [];
    form.querySelectorAll("[name='" + id + "']").forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value !== "") {
        picked.push(el.value);
      }
    });
    return picked;
  }

  function holds(rule, form) {
    var values = answersOf(form, rule.question);
    if (rule.any_of) {
      return values.some(function (v) { return rule.any_of.indexOf(v) >= 0; });
    }
    if (values.length !== 1 || values[0] === "na" || isNaN(parseFloat(values[0]))) { return false; }
    var x = parseFloat(values[0]);
    return (rule.at_least === undefined || x >= rule.at_least) &&
      (rule.at_most === undefined || x <= rule.at_most);
  }

  function clear(box) {
    box.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
    });
  }

  // In question order, so that a question hidden (and cleared) hides its own dependants too.
  function apply(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (box) {
      var shown = holds(JSON.parse(box.dataset.showIf), form);
      if (!shown && !box.hidden) { clear(box); }
      box.hidden = !shown;
    });
  }

  function exclusive(event) {
    var el = event.target;
    if (el.type !== "checkbox" || !el.checked) { return; }
    var box = el.closest("fieldset");
    box.querySelectorAll("input[type=checkbox]").forEach(function (other) {
      if (other !== el && (el.dataset.exclusive === "true" || other.dataset.exclusive === "true")) {
        other.checked = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.survey-form");
    if (!form) { return; }
    form.addEventListener("change", function (event) { exclusive(event); apply(form); });
    form.addEventListener("input", function () { apply(form); });
    apply(form);
  });
})();

// The sharing page (sharing.html): the copy button next to a newly issued key. The key is shown
// once; copying it must not depend on the user selecting 60 characters by hand.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var field = document.querySelector(button.getAttribute("data-copy-target"));
    if (!field) { return; }
    field.select();
    var done = function () { button.setAttribute("data-copied", "true"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else {
      done();  // selected: the user copies with Ctrl+C (no clipboard API over plain HTTP)
    }
  });
})();

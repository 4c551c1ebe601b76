// The simulated phone. A swipe to the end approves (once: the slider locks). A phone
// showing a request, or waiting for one, asks the broker every 2 seconds which request
// waits (data-poll-url) and moves to it, or to how the shown one ended. A phone showing an
// answer has no data-poll-url: the answer stays until the citizen closes it.
(function () {
  var script = document.currentScript;
  var swipe = document.getElementById("swipe");
  if (swipe) {
    swipe.addEventListener("change", function () {
      if (Number(swipe.value) >= 95) {
        swipe.disabled = true;
        document.getElementById("approve").submit();
      } else {
        swipe.value = 0;
      }
    });
  }
  var pollUrl = script.dataset.pollUrl;
  if (!pollUrl) { return; }
  var current = script.dataset.current || "";
  (function poll() {
    fetch(pollUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var waiting = s.request || "";
        if (swipe && swipe.disabled) { return; }
        if (waiting !== current) { location.assign(waiting || current); } else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 4000); });
  })();
})();

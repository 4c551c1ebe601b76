// Device pages (code display, audio code reader): reload when the shown code changes,
// data-seconds (on this script tag) seconds from now.
(function () {
  var seconds = Number(document.currentScript.dataset.seconds) || 30;
  setTimeout(function () { location.reload(); }, seconds * 1000 + 200);
})();

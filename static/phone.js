// The simulated phone: a swipe to the end approves; with no request waiting, the page
// looks again every 2 seconds.
(function () {
  var swipe = document.getElementById("swipe");
  if (swipe) {
    // A swipe counts once the slider reaches the end, like the real app's swipe-to-approve.
    swipe.addEventListener("change", function () { if (swipe.value >= 95) { document.getElementById("approve").submit(); } else { swipe.value = 0; } });
  } else {
    setTimeout(function () { location.reload(); }, 2000);
  }
})();

// The logout page: leaves for the RP once every client's front-channel logout page has
// loaded (or after 3 s).
(function () {
  var frames = document.querySelectorAll("iframe.frontchannel"), left = frames.length;
  function go() { location.replace(document.getElementById("continue").href); }
  if (left === 0) { go(); return; }
  frames.forEach(function (f) { f.addEventListener("load", function () { if (--left === 0) { go(); } }); });
  setTimeout(go, 3000);
})();

// The login page while the MitID app is asked: polls the broker until the app has
// answered, then reloads the login, which moves on by itself. The login's id comes from
// this script tag's data-login-id.
(function () {
  var loginId = document.currentScript.dataset.loginId;
  (function poll() {
    fetch("/login/" + loginId + "/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) { if (s.step !== "app") { location.replace("/login/" + loginId); } else { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 2000); });
  })();
})();

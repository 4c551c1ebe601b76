// The NemLog-in post page: sends the SAML message on to the service at once. Without
// scripts the page's button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("saml-post");
  if (form) {
    form.submit();
  }
});

// The simulator's test-citizen picker on the user-ID steps: a click fills the user ID
// (without a script, the input's datalist offers the same user IDs).
(function () {
  var input = document.getElementById("user_id");
  var buttons = document.querySelectorAll("#picker [data-user-id]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      input.value = button.dataset.userId;
      input.focus();
    });
  });
})();

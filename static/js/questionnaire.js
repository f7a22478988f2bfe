// Saves each answer as it is chosen, so closing the page loses nothing. The form still works
// without this script: "Save and finish later" and "Send my answers" post every answer.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch) { return; }
  var status = form.querySelector(".autosave-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type !== "radio" || !input.name.startsWith("item-")) { return; }
    var body = new FormData();
    body.append("csrf_token", token);
    body.append("item", input.name.slice(5));
    body.append("value", input.value);
    fetch(form.dataset.autosave, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (status) { status.textContent = response.ok ? status.dataset.saved : status.dataset.failed; }
      })
      .catch(function () {
        if (status) { status.textContent = status.dataset.failed; }
      });
  });
  form.dataset.autosaveReady = "true";  // lets a test (or a curious reader) see saving is on
})();

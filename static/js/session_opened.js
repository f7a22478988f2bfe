// Records that the participant opened this session's material: a POST once the page has been
// visible for a few seconds, never the GET itself (a link preview or a prefetch must not count
// as reading). Without scripts, "Mark as done" records the opening too.
(function () {
  "use strict";
  var mark = document.querySelector("[data-opened-url]");
  if (!mark || !window.fetch) { return; }
  var sent = false;
  function send() {
    if (sent || document.visibilityState !== "visible") { return; }
    sent = true;
    var body = new FormData();
    body.append("csrf_token", mark.dataset.csrf);
    fetch(mark.dataset.openedUrl, { method: "POST", body: body, credentials: "same-origin" });
  }
  function soon() { window.setTimeout(send, 3000); }
  if (document.visibilityState === "visible") { soon(); }
  document.addEventListener("visibilitychange", soon);
}());

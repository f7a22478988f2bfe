/* Settings → Notifications: turn push on or off for this browser. Subscribing asks for the
   browser's permission, subscribes with the server's VAPID key and sends the subscription to
   Hearth; turning off tells Hearth first, then drops the browser's subscription. */
(function () {
  "use strict";
  var box = document.getElementById("push");
  if (!box) return;
  var status = document.getElementById("push-status");
  var csrf = document.querySelector("input[name=csrf_token]").value;

  function say(name) { status.textContent = box.getAttribute("data-" + name); }
  function key() {
    var text = box.getAttribute("data-public-key").replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(text + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(data),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    }).then(function (response) {
      if (!response.ok) throw new Error("refused");
      return response;
    });
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) {
    say("unsupported");
    document.getElementById("push-on").disabled = true;
    return;
  }
  document.getElementById("push-on").addEventListener("click", function () {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { say("denied"); return undefined; }
      return navigator.serviceWorker.ready.then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: key(),
        });
      }).then(function (subscription) {
        return post(box.getAttribute("data-subscribe-url"), subscription.toJSON());
      }).then(function () { say("on"); });
    }).catch(function () { say("failed"); });
  });
  document.getElementById("push-off").addEventListener("click", function () {
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return undefined;
      return post(box.getAttribute("data-unsubscribe-url"), { endpoint: subscription.endpoint })
        .then(function () { return subscription.unsubscribe(); });
    }).then(function () { say("off"); }).catch(function () { say("failed"); });
  });
}());

/* On every page: register the service worker; when nobody is signed in, drop kept pages; on
   the practice form, keep an entry made offline on this device and send it once back online.
   Each queued entry has its own token (the form's one-time token), so sending it again after
   a lost answer never makes a second log. */
(function () {
  "use strict";
  var body = document.body;
  var userKey = body.getAttribute("data-offline-key");
  var QUEUE = "hearth-queue-";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }

  function forgetPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("hearth-pages-") === 0; })
        .map(function (n) { return caches.delete(n); }));
    });
  }

  if (body.hasAttribute("data-signed-out")) forgetPages();
  var signOut = document.querySelector("form[data-sign-out]");
  if (signOut) {
    signOut.addEventListener("submit", function () {
      forgetPages();
      Object.keys(localStorage).forEach(function (k) {
        if (k.indexOf(QUEUE) === 0) localStorage.removeItem(k);
      });
    });
  }
  if (!userKey) return;

  var queueName = QUEUE + userKey;
  function load() {
    try { return JSON.parse(localStorage.getItem(queueName) || "[]"); } catch (e) { return []; }
  }
  function save(list) {
    if (list.length) localStorage.setItem(queueName, JSON.stringify(list));
    else localStorage.removeItem(queueName);
  }
  function newToken() {
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function say(text) {
    var box = document.getElementById("offline-status");
    if (box && text) { box.textContent = text; box.hidden = false; }
  }
  function csrf() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  var form = document.querySelector("form[data-offline-queue]");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (navigator.onLine) return;
      event.preventDefault();
      var entry = { action: form.getAttribute("action") || location.pathname, fields: {} };
      new FormData(form).forEach(function (value, name) { entry.fields[name] = value; });
      entry.fields.token = newToken();
      var list = load();
      list.push(entry);
      save(list);
      say(form.getAttribute("data-queued"));
    });
  }

  var sending = false;
  function flush() {
    if (sending || !navigator.onLine || !load().length) return;
    sending = true;
    var sent = 0;
    function next() {
      var list = load();
      if (!list.length) return Promise.resolve();
      var entry = list[0];
      var data = new URLSearchParams(entry.fields);
      if (csrf()) data.set("csrf_token", csrf());
      return fetch(entry.action, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || new URL(response.url).pathname.indexOf("/auth/") === 0) {
            throw new Error("not sent");
          }
          save(load().filter(function (e) { return e.fields.token !== entry.fields.token; }));
          sent += 1;
          return next();
        });
    }
    next().catch(function () {}).then(function () {
      sending = false;
      if (sent && form) say(form.getAttribute("data-sent"));
      body.setAttribute("data-offline-queue-left", String(load().length));
    });
  }
  window.addEventListener("online", flush);
  flush();
}());

/* Hearth's service worker: push notifications, and offline reading of the pages the server
   marks with X-Hearth-Offline (released material and the practice form of the person signed
   in). Pages are kept in one cache per person ("hearth-pages-<key>"); keeping a page for
   another key first drops every other person's cache. Nothing else is kept but /static/. */
"use strict";

const PAGES = "hearth-pages-";
const STATIC = "hearth-static-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(networkThenCache(request, STATIC));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request));
  }
});

async function networkThenCache(request, name) {
  try {
    const response = await fetch(request);
    if (response.ok) await (await caches.open(name)).put(request, response.clone());
    return response;
  } catch (error) {
    const kept = await caches.match(request, { cacheName: name });
    if (kept) return kept;
    throw error;
  }
}

async function page(request) {
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const kept = await keptPage(request);
    if (kept) return kept;
    throw error;
  }
  const key = response.headers.get("X-Hearth-Offline");
  if (key && response.ok && !response.redirected) {
    await keep(key, request, response.clone());
  } else {
    await forgetPage(request); // no longer released, or not this person's: never serve it
  }
  return response;
}

async function pageCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(PAGES));
}

async function keep(key, request, response) {
  for (const name of await pageCaches()) {
    if (name !== PAGES + key) await caches.delete(name);
  }
  await (await caches.open(PAGES + key)).put(request, response);
}

async function keptPage(request) {
  for (const name of await pageCaches()) {
    const kept = await (await caches.open(name)).match(request);
    if (kept) return kept;
  }
  return undefined;
}

async function forgetPage(request) {
  for (const name of await pageCaches()) await (await caches.open(name)).delete(request);
}

self.addEventListener("message", (event) => {
  if (event.data === "forget-pages") {
    event.waitUntil(pageCaches().then((names) => Promise.all(names.map((n) => caches.delete(n)))));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Hearth", {
    body: data.body || "", lang: data.lang || "", data: { url: data.url || "/" },
    icon: "/static/icons/icon-192.png",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});

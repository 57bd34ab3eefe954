// Service worker: keeps the page usable offline. The shell (HTML, JS, CSS)
// is precached at install and refreshed network-first; the page itself
// keeps the wasm and the model weights in the Cache API (app.js,
// cachedFetch), and this worker answers from any cache when the server is
// gone. It never touches other origins.
const SHELL = "catsynth-shell-v1";
const FILES = ["./", "index.html", "app.js", "engine.js", "transfer.js", "app.css", "worker.js", "wasm_exec.js", "models/index.json"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const big = url.pathname.endsWith(".wasm") || url.pathname.includes("/models/") && !url.pathname.endsWith(".json");
  e.respondWith((async () => {
    try {
      const resp = await fetch(req);
      if (resp.ok && !big) {
        const copy = resp.clone();
        caches.open(SHELL).then((c) => c.put(req, copy));
      }
      return resp;
    } catch (err) {
      const hit = await caches.match(req, { ignoreSearch: true });
      if (hit) return hit;
      throw err;
    }
  })());
});

// The engine side of the page: the worker RPC (worker.js runs the Go
// engine), notices, and fetching with a progress bar into the Cache API.
// window.appState exposes progress for the browser tests.

export const $ = (id) => document.getElementById(id);
export const params = new URLSearchParams(location.search);
export const state = (window.appState = {
  ready: false, assetsLoaded: false, swReady: false, backend: null, fallback: "",
  genCount: 0, busy: false, lastGen: null, errors: [], finetune: null, saved: 0, target: null,
  affinity: null, deviceLost: [], restarts: 0, freshWorkers: 0,
});

// ---------- the engine worker ----------
let worker = null;
let wasmBytes = null;      // kept to start a fresh worker after a device loss
let onDeviceLost = null;   // set by app.js
const pending = new Map();
let nextId = 1;

function startWorker() {
  worker = new Worker("worker.js");
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.exited) { fatal(m.exited); return; }
    if (m.deviceLost) { onDeviceLost && onDeviceLost(m.deviceLost); return; }
    const p = pending.get(m.id);
    if (!p) return;
    if (m.progress) { p.onProgress && p.onProgress(m.progress); return; }
    pending.delete(m.id);
    m.ok ? p.resolve(m.result) : p.reject(new Error(m.error));
  };
  worker.onerror = (e) => fatal("the engine worker failed: " + (e.message || e));
}

// initEngine starts the worker with the engine's wasm.
export function initEngine(wasm) {
  wasmBytes = wasm;
  startWorker();
  return call("init", [wasm.slice().buffer]);
}

// restartWorker replaces the worker by a fresh one (a new Go runtime, and
// a new device once app.js opens the engine); calls still in flight fail.
// The new worker loads its two scripts from the local server again.
export async function restartWorker() {
  worker.terminate();
  state.freshWorkers++;
  for (const p of pending.values()) p.reject(new Error("the engine was restarted"));
  pending.clear();
  startWorker();
  return call("init", [wasmBytes.slice().buffer]);
}

export function setDeviceLostHandler(f) { onDeviceLost = f; }

// Debug hooks (the browser test uses them): loseDevice() destroys the
// engine's WebGPU device, as a GPU reset would; hangNextOpen() makes the
// engine's next open never answer, as a call stuck on a dead device would.
window.catsynthDebug = { loseDevice: () => call("loseDevice"), hangNextOpen: () => call("hangNextOpen") };

export function call(op, args = [], { transfer = [], onProgress } = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, args }, transfer);
  });
}

// ---------- notices and loading ----------
export function notice(text, { kind = "error", recover = false } = {}) {
  $("noticeText").textContent = text;
  $("notice").className = "notice" + (kind === "info" ? " info" : "");
  $("recover").hidden = !recover;
  $("notice").hidden = false;
}
$("noticeClose").onclick = () => { $("notice").hidden = true; };
export function fatal(text) {
  state.errors.push(text);
  notice(text + " — reload the page to start again.");
  $("app").classList.add("disabled");
}
export function reportError(err, recover = false) {
  const text = String((err && err.message) || err);
  console.error(err);
  state.errors.push(text);
  notice(text, { recover });
}

let loads = 0;
function progress(label, done, total) {
  const bar = $("loadBar");
  $("loading").classList.remove("done");
  if (total > 0 && done <= total) { bar.max = total; bar.value = done; } else bar.removeAttribute("value");
  $("loadText").textContent = `${label}: ${(done / 1e6).toFixed(1)} MB` + (total > 0 && done <= total ? ` of ${(total / 1e6).toFixed(1)} MB` : "");
}
export function loadingDone() { if (loads === 0) $("loading").classList.add("done"); }

// cachedFetch returns a URL's bytes, reading them with a progress bar and
// keeping them in the Cache API: cache-first (the weights), or network-first
// with the cached copy as fallback (the wasm build, which changes).
export async function cachedFetch(url, { label = url, bytes = 0, networkFirst = false } = {}) {
  const cache = await caches.open("catsynth-data-v1");
  const hit = await cache.match(url);
  if (hit && !networkFirst && (!bytes || Number(hit.headers.get("x-bytes")) === bytes)) {
    return new Uint8Array(await hit.arrayBuffer());
  }
  loads++;
  try {
    const resp = await fetch(url, { cache: "no-cache" });
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    const total = bytes || (resp.headers.get("content-encoding") ? 0 : Number(resp.headers.get("content-length")) || 0);
    const reader = resp.body.getReader();
    const chunks = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
      progress(label, got, total);
    }
    const data = new Uint8Array(got);
    let off = 0;
    for (const c of chunks) { data.set(c, off); off += c.length; }
    await cache.put(url, new Response(data, { headers: { "x-bytes": String(got) } }));
    return data;
  } catch (err) {
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    throw new Error(`cannot load ${label}: ${err.message} (offline, and not cached yet)`);
  } finally {
    loads--;
    loadingDone();
  }
}

export async function fetchJSON(url) {
  try {
    const r = await fetch(url, { cache: "no-cache" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return await r.json();
  } catch (err) {
    const hit = await caches.match(url);
    if (hit) return hit.json();
    throw new Error(`cannot load ${url}: ${err.message}`);
  }
}

export function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The engine worker: runs catsynth.wasm (wasm/app_js.go) off the page's
// thread, so that painting stays smooth while a step runs. The page sends
// {id, op, args}; the worker answers {id, ok, result} or {id, ok: false,
// error}, and {id, progress} during a finetune. Uint8Array results are
// transferred, not copied.
importScripts("wasm_exec.js");

// Device loss. The WebGPU binding does not expose device.lost, so the
// worker wraps requestDevice and watches every device the engine creates.
// The loss of the current device is reported to the page, which restarts
// the engine in a fresh worker on a new device (engine.js). Devices the
// engine replaces on purpose (open), or opens and releases (auto on a
// software adapter), are no longer current when they go.
let currentDevice = null;
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const d = await requestDevice.apply(this, args);
    currentDevice = d;
    d.lost.then((info) => {
      if (d !== currentDevice || d.catsynthReleased) return;
      currentDevice = null;
      postMessage({ deviceLost: (info.reason || "unknown reason") + (info.message ? ": " + info.message : "") });
    });
    return d;
  };
  // A device the engine destroys itself (releasing it) is marked, so that
  // its end is not taken for a loss; loseDevice's destroy is a loss.
  const destroy = GPUDevice.prototype.destroy;
  GPUDevice.prototype.destroy = function () {
    if (!simulatingLoss) this.catsynthReleased = true;
    return destroy.call(this);
  };
}
let simulatingLoss = false;

// hangOpen makes the next open never answer: a call stuck on a dead device,
// on demand (catsynthDebug.hangNextOpen, for the browser test of the page's
// fresh-worker fallback).
let hangOpen = false;

function transferables(v, out = []) {
  if (v instanceof Uint8Array) out.push(v.buffer);
  else if (Array.isArray(v)) v.forEach((x) => transferables(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => transferables(x, out));
  return out;
}

self.onmessage = async (e) => {
  const { id, op, args = [] } = e.data;
  try {
    let result;
    if (op === "init") {
      const go = new Go();
      // Kept as a global, which the WebGPU binding's own write calls read
      // (nn/gpu writes buffers without them).
      globalThis.wasm = await WebAssembly.instantiate(args[0], go.importObject);
      go.run(globalThis.wasm.instance).then(
        () => postMessage({ exited: "the engine stopped (a Go panic? see the console)" }),
        (err) => postMessage({ exited: "the engine failed: " + err }));
      result = { gpu: "gpu" in navigator };
    } else if (op === "open") {
      currentDevice = null;
      if (hangOpen) {
        hangOpen = false;
        await new Promise(() => {});
      }
      result = await catsynth.open(...args);
      // auto may have tried a software adapter and released its device for
      // the CPU path: its loss is not the engine's.
      if (result && !String(result.backend).startsWith("gpu")) currentDevice = null;
    } else if (op === "loseDevice") {
      // What a GPU reset or driver update does to the page, on demand
      // (the browser test and the page's debug hook use it).
      if (!currentDevice) throw new Error("no WebGPU device to lose (the engine runs on the CPU)");
      simulatingLoss = true;
      try { currentDevice.destroy(); } finally { simulatingLoss = false; }
    } else if (op === "hangNextOpen") {
      hangOpen = true;
    } else if (op === "stop") {
      catsynth.stop();
    } else if (op === "generate") {
      result = await catsynth.generate(args[0], args[1], (p) =>
        postMessage({ id, progress: p }, p.preview ? [p.preview.buffer] : []));
    } else if (op === "finetune") {
      result = await catsynth.finetune(args[0], (p) =>
        postMessage({ id, progress: p }, p.preview ? [p.preview.buffer] : []));
    } else if (typeof catsynth[op] === "function") {
      result = await catsynth[op](...args);
    } else {
      throw new Error("unknown operation " + op);
    }
    postMessage({ id, ok: true, result }, transferables(result));
  } catch (err) {
    console.warn(`engine: ${op} failed:`, (err && err.message) || err);
    postMessage({ id, ok: false, error: String((err && err.message) || err) });
  }
};

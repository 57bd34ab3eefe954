// The engine worker: runs catsynth.wasm (wasm/app_js.go) off the page's
// thread, so that painting stays smooth while a step runs. The page sends
// {id, op, args}; the worker answers {id, ok, result} or {id, ok: false,
// error}, and {id, progress} during a finetune. Uint8Array results are
// transferred, not copied.
importScripts("wasm_exec.js");

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
      // Kept as a global: the WebGPU binding's Queue.WriteBuffer reads
      // globalThis.wasm.instance.exports.mem.
      globalThis.wasm = await WebAssembly.instantiate(args[0], go.importObject);
      go.run(globalThis.wasm.instance).then(
        () => postMessage({ exited: "the engine stopped (a Go panic? see the console)" }),
        (err) => postMessage({ exited: "the engine failed: " + err }));
      result = { gpu: "gpu" in navigator };
    } else if (op === "stop") {
      catsynth.stop();
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
    postMessage({ id, ok: false, error: String((err && err.message) || err) });
  }
};

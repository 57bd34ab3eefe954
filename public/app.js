// catsynth web page: paint a label map, get an image. engine.js talks to
// the Go engine (worker.js, wasm/app_js.go); transfer.js is the few-shot
// transfer panel.
import { $, params, state, call, notice, reportError, cachedFetch, fetchJSON, download, loadingDone, initEngine, restartWorker, setDeviceLostHandler } from "./engine.js";
import { initTransfer, renderTarget, setAffinity, resetAffinity, hasAffinity, listSaved, setEstimatorAssets, forgetFiles, transferSnapshot, restoreTransfer } from "./transfer.js";

// ---------- model and palette ----------
let model = null;         // ModelInfo
let modelBytes = null;    // the loaded file, to reload after an engine restart
let modelName = "";
let W = 32, H = 32;
let labels = new Uint8Array(W * H).fill(255);
let current = 0;

function rgbOf(hex) { return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)); }

function setModel(info) {
  model = info;
  W = info.width; H = info.height;
  // Resizing a canvas clears it: only when the size changes.
  for (const c of [$("labels"), $("image"), $("preview")]) if (c.width !== W || c.height !== H) { c.width = W; c.height = H; }
  $("labelSize").textContent = `${W}×${H}`;
  $("size").max = Math.max(2, Math.round(W / 4));
  current = Math.min(current, info.classes.length - 1);
  renderPalette();
  $("modeLabel").hidden = !info.adapted && !(state.target && state.target.pairs.length && hasAffinity());
  $("useTarget").checked = info.adapted;
  undo.length = 0;
  showSampler(info.sampling);
}

// ---------- diffusion sampler settings ----------
// A diffusion model samples in steps: the page shows its settings and a
// progressive preview, and a newer stroke cancels a sampling in flight.
function showSampler(s) {
  $("sampler").hidden = !s;
  if (!s) return;
  for (const [id, v] of [["sampleSteps", s.steps], ["sampleGuidance", s.guidance], ["sampleEta", s.eta]]) {
    $(id).value = v;
    $(id + "Value").textContent = v;
  }
}
for (const id of ["sampleSteps", "sampleGuidance", "sampleEta"]) {
  $(id).oninput = () => { $(id + "Value").textContent = $(id).value; };
  $(id).onchange = async () => {
    try {
      const info = await call("setSampling", [{ steps: Number($("sampleSteps").value), guidance: Number($("sampleGuidance").value), eta: Number($("sampleEta").value) }]);
      model.sampling = info.sampling;
      showSampler(info.sampling);
      scheduleGenerate(0);
    } catch (err) { reportError(err); }
  };
}
$("cancelGen").onclick = () => { genDirty = false; call("stop").catch(() => {}); };

function renderPalette() {
  const ul = $("classes");
  ul.textContent = "";
  $("paletteTitle").textContent = model.adapted ? `Target classes (${model.classes.length})` : `Classes (${model.classes.length})`;
  model.classes.forEach((c, i) => {
    const li = document.createElement("li");
    li.dataset.index = i;
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = c.color;
    li.append(sw, document.createTextNode(c.name));
    if (i === current) li.classList.add("on");
    li.onclick = () => { current = i; if (tool === "eraser") setTool("brush"); renderPalette(); };
    ul.append(li);
  });
}

async function loadExamples() {
  const ex = await call("examples", [6]);
  const sel = $("examples");
  sel.textContent = "";
  examples = ex;
  ex.forEach((e, i) => sel.add(new Option(e.name, i)));
  if (ex.length) setLabels(ex[0].labels);
}
let examples = [];
$("examples").onchange = () => { const e = examples[$("examples").value]; if (e) { pushUndo(); setLabels(e.labels); } };

// ---------- painting ----------
let tool = "brush";
const undo = [];
function setTool(t) {
  tool = t;
  for (const b of $("tools").querySelectorAll("button")) b.classList.toggle("on", b.dataset.tool === t);
}
for (const b of $("tools").querySelectorAll("button")) b.onclick = () => setTool(b.dataset.tool);
$("size").oninput = () => { $("sizeOut").textContent = $("size").value; };
function pushUndo() { undo.push(labels.slice()); if (undo.length > 50) undo.shift(); }
$("undo").onclick = () => { if (undo.length) { labels = undo.pop(); drawLabels(); scheduleGenerate(); } };
$("clear").onclick = () => { pushUndo(); labels.fill(255); drawLabels(); scheduleGenerate(); };

function setLabels(l) { labels = new Uint8Array(l); drawLabels(); scheduleGenerate(0); }

function drawLabels() {
  const cv = $("labels");
  const ctx = cv.getContext("2d");
  const img = ctx.createImageData(W, H);
  const pal = model.classes.map((c) => rgbOf(c.color));
  for (let i = 0; i < W * H; i++) {
    const c = labels[i] === 255 ? [0, 0, 0] : pal[labels[i]] || [0, 0, 0];
    img.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function pixelAt(e) {
  const r = $("labels").getBoundingClientRect();
  return [Math.floor(((e.clientX - r.left) / r.width) * W), Math.floor(((e.clientY - r.top) / r.height) * H)];
}

function stamp(x, y) {
  const size = Number($("size").value), v = tool === "eraser" ? 255 : current;
  const r = (size - 1) / 2, c = size % 2 ? 0 : 0.5;
  for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
    for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) {
      if ((dx + c) ** 2 + (dy + c) ** 2 > (r + 0.5) ** 2) continue;
      const px = Math.floor(x + dx + c), py = Math.floor(y + dy + c);
      if (px >= 0 && py >= 0 && px < W && py < H) labels[py * W + px] = v;
    }
  }
}

function line(x0, y0, x1, y1) {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= n; i++) stamp(Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n));
}

function flood(x, y) {
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  const from = labels[y * W + x], to = current;
  if (from === to) return;
  const stack = [y * W + x];
  while (stack.length) {
    const p = stack.pop();
    if (labels[p] !== from) continue;
    labels[p] = to;
    const px = p % W, py = (p / W) | 0;
    if (px > 0) stack.push(p - 1);
    if (px < W - 1) stack.push(p + 1);
    if (py > 0) stack.push(p - W);
    if (py < H - 1) stack.push(p + W);
  }
}

let last = null;
const cv = $("labels");
cv.addEventListener("pointerdown", (e) => {
  if (!model || e.button !== 0) return;
  cv.setPointerCapture(e.pointerId);
  pushUndo();
  const [x, y] = pixelAt(e);
  if (tool === "fill") { flood(x, y); last = null; } else { stamp(x, y); last = [x, y]; }
  drawLabels();
  scheduleGenerate();
});
cv.addEventListener("pointermove", (e) => {
  if (!last) return;
  const [x, y] = pixelAt(e);
  line(last[0], last[1], x, y);
  last = [x, y];
  drawLabels();
  scheduleGenerate();
});
const endStroke = () => { if (last) { last = null; scheduleGenerate(0); } };
cv.addEventListener("pointerup", endStroke);
cv.addEventListener("pointercancel", endStroke);

document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
  if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); $("undo").click(); }
  else if (e.key === "b") setTool("brush");
  else if (e.key === "f") setTool("fill");
  else if (e.key === "e") setTool("eraser");
});

// ---------- generation ----------
let genTimer = null, genRunning = false, genDirty = false;
function scheduleGenerate(delay = 60) {
  clearTimeout(genTimer);
  genTimer = setTimeout(runGenerate, delay);
  // A diffusion sampling in flight is superseded by the newer request.
  if (genRunning && model && model.sampling) call("stop").catch(() => {});
}
function seed() {
  const s = Math.floor(Number($("seed").value));
  return Number.isFinite(s) && s >= 0 ? s : 0;
}
let restarting = false; // the engine has no model until restartEngine reloads it
async function runGenerate() {
  if (!model) return;
  if (genRunning || restarting) { genDirty = true; return; }
  genRunning = state.busy = true;
  try {
    do {
      genDirty = false;
      const l = labels.slice(), s = seed();
      const ctx = $("image").getContext("2d");
      const iterative = !!model.sampling;
      $("cancelGen").disabled = !iterative;
      let r;
      try {
        r = await call("generate", [l, s], { onProgress: (p) => {
          if (!p.preview) return;
          state.samplePreviews = (state.samplePreviews || 0) + 1;
          ctx.putImageData(new ImageData(new Uint8ClampedArray(p.preview.buffer), W, H), 0, 0);
          $("sampleProgress").textContent = `step ${p.step}/${p.steps}`;
        } });
      } catch (err) {
        // A sampling cancelled (by the button or a newer stroke) is not an error.
        if (iterative && /context canceled/.test(String((err && err.message) || err))) {
          $("sampleProgress").textContent = genDirty ? "" : "cancelled";
          continue;
        }
        throw err;
      } finally {
        $("cancelGen").disabled = true;
      }
      ctx.putImageData(new ImageData(new Uint8ClampedArray(r.rgba.buffer), r.width, r.height), 0, 0);
      $("timing").textContent = `${r.ms.toFixed(1)} ms · seed ${s}`;
      if (iterative) $("sampleProgress").textContent = `${model.sampling.steps} steps`;
      state.genCount++;
      state.lastGen = { seed: s, ms: r.ms, labels: Array.from(l), adapted: model.adapted };
    } while (genDirty);
  } catch (err) {
    reportError(err, true);
  } finally {
    genRunning = state.busy = false;
  }
}
$("seed").onchange = () => scheduleGenerate(0);
$("newStyle").onclick = () => { $("seed").value = Math.floor(Math.random() * 2 ** 31); scheduleGenerate(0); };

$("downloadImage").onclick = () => $("image").toBlob((b) => download(b, `catsynth-${seed()}.png`));
$("saveLabels").onclick = async () => {
  try { download(new Blob([await call("encodeLabelPNG", [labels.slice()])], { type: "image/png" }), "labels.png"); }
  catch (err) { reportError(err); }
};
$("openLabels").onclick = () => $("labelFile").click();
$("labelFile").onchange = async () => {
  const f = $("labelFile").files[0];
  if (!f) return;
  try { const l = await call("decodeLabelPNG", [new Uint8Array(await f.arrayBuffer()), f.name]); pushUndo(); setLabels(l); }
  catch (err) { reportError(err); }
  $("labelFile").value = "";
};

// ---------- models ----------
async function loadModelBytes(bytes, name) {
  const info = await call("loadModel", [bytes.slice(), name]);
  modelBytes = bytes; modelName = name;
  showModelName(name);
  state.target = null;
  resetAffinity();
  forgetFiles();
  setModel(info);
  renderTarget({ classes: info.adapted ? info.classes : [], pairs: [], messages: [] });
  if (info.adapted) { // an adapted model file: show its matrix
    const m = await call("getAffinity");
    if (m) setAffinity(m);
  }
  await loadExamples();
  return info;
}

// showModelName makes the model select name the loaded model, adding an
// entry for a file the user opened (an adapted model, say).
function showModelName(name) {
  const sel = $("model");
  let opt = [...sel.options].find((o) => o.value === name || o.text.startsWith(name + " ("));
  if (!opt) {
    opt = new Option(`${name} (opened file)`, name);
    sel.add(opt);
  }
  sel.value = opt.value;
}

async function chooseModel(entry) {
  const bytes = await cachedFetch(entry.url, { label: `model ${entry.name}`, bytes: entry.bytes });
  await loadModelBytes(bytes, entry.name);
}
let index = { models: [] };
$("model").onchange = async () => {
  const e = index.models.find((m) => m.url === $("model").value);
  if (!e) return; // the opened file, already loaded
  try { await chooseModel(e); } catch (err) { reportError(err); }
};
$("openModel").onclick = () => $("modelFile").click();
$("modelFile").onchange = async () => {
  const f = $("modelFile").files[0];
  if (!f) return;
  try { await loadModelBytes(new Uint8Array(await f.arrayBuffer()), f.name); } catch (err) { reportError(err); }
  $("modelFile").value = "";
};

// restartEngine opens a new device and puts the session back: the model,
// the target files and names, the affinity matrix (trained or edited) and
// whether the page paints in the target classes. The engine is reopened in
// its worker (no request leaves the page); when it does not answer within
// reopenTimeoutMs (a call stuck on the dead device; ?reopenTimeoutMs=
// shortens it for tests) or fresh is set, a new worker replaces it (its two
// scripts come from the server, or offline from the service worker's cache).
const reopenTimeoutMs = Number(params.get("reopenTimeoutMs")) || 20000;
async function restartEngine({ fresh = false } = {}) {
  restarting = true;
  try { await restartEngineNow(fresh); } finally {
    restarting = false;
    scheduleGenerate(0); // what was asked for meanwhile
  }
}
async function restartEngineNow(fresh) {
  const snap = transferSnapshot();
  state.restarts++;
  let reopened = false;
  if (!fresh) {
    const timeout = new Promise((resolve) => setTimeout(() => resolve(false), reopenTimeoutMs));
    reopened = await Promise.race([openEngine().then(() => true), timeout]);
  }
  if (!reopened) {
    await restartWorker();
    await openEngine();
  }
  if (modelBytes) await loadModelBytes(modelBytes, modelName);
  await restoreTransfer(snap);
}
// The Restart engine button: after a GPU error the page could not recover
// from by itself.
$("recover").onclick = async () => {
  $("notice").hidden = true;
  try { await restartEngine(); } catch (err) { reportError(err, true); }
};
// A lost device (GPU reset, driver update, the tab's GPU process killed)
// restarts the engine by itself.
setDeviceLostHandler(async (reason) => {
  state.deviceLost.push(reason);
  notice(`The GPU device was lost (${reason}). Restarting the engine on a new device…`, { kind: "info" });
  try {
    await restartEngine();
    notice(`The GPU device was lost (${reason}); the engine restarted on a new device and your work is back.`, { kind: "info" });
  } catch (err) { reportError(err, true); }
});

async function openEngine() {
  const r = await call("open", [{ backend: params.get("backend") || "auto" }]);
  state.backend = r.backend; state.fallback = r.fallback; state.software = !!r.software;
  const pill = $("backend");
  if (r.fallback) {
    pill.textContent = "CPU (no WebGPU)";
    pill.className = "pill cpu";
    pill.title = r.fallback;
    notice(`Running on the CPU: ${r.fallback}. Generation works, only slower.`, { kind: "info" });
  } else {
    pill.textContent = r.backend.replace(/^gpu: /, "WebGPU: ");
    pill.className = "pill" + (r.backend === "cpu" ? " cpu" : "");
    pill.title = r.backend;
  }
}

// ---------- start ----------
initTransfer({ model: () => model, modelName: () => modelName, setModel, loadExamples, loadModelBytes, scheduleGenerate });
async function boot() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").then(() => navigator.serviceWorker.ready).then(() => { state.swReady = true; })
      .catch((err) => console.warn("service worker:", err));
  }
  const wasm = await cachedFetch("catsynth.wasm", { label: "engine", networkFirst: true });
  const init = await initEngine(wasm);
  if (!init.gpu) console.info("navigator.gpu is missing in the worker");
  await openEngine();
  index = await fetchJSON("models/index.json");
  const choices = index.models.filter((m) => m.kind === "model");
  const sel = $("model");
  sel.textContent = "";
  for (const m of choices) sel.add(new Option(`${m.name} (${(m.bytes / 1e6).toFixed(1)} MB)`, m.url));
  if (!choices.length) throw new Error("the server offers no model (models/index.json is empty)");
  // Without a GPU (CPU backend, or a software adapter such as SwiftShader) a
  // 128 px model takes seconds per image: start with the 64 px one there.
  const want = choices.find((m) => m.name === params.get("model")) ||
    (state.software && choices.find((m) => m.name === "source64")) || choices[0];
  sel.value = want.url;
  await chooseModel(want);
  sel.disabled = $("openModel").disabled = false;
  $("app").classList.remove("disabled");
  $("transfer").classList.remove("disabled");
  await new Promise((r) => { const t = setInterval(() => { if (state.genCount > 0 || state.errors.length) { clearInterval(t); r(); } }, 20); });
  state.ready = true;
  listSaved().catch((err) => console.warn("IndexedDB:", err));
  // The affinity estimators' inputs (word vectors, feature network,
  // segmenter, prototypes): fetched now, so that nothing is fetched once
  // the page is in use, and all of it works offline.
  const est = [];
  for (const e of index.models.filter((m) => ["glove", "backbone", "segmenter", "prototypes"].includes(m.kind))) {
    est.push({ entry: e, bytes: await cachedFetch(e.url, { label: e.name, bytes: e.bytes }) });
  }
  setEstimatorAssets(est);
  state.assetsLoaded = true;
  loadingDone();
}
boot().catch((err) => { reportError(err); state.bootError = String(err.message || err); });

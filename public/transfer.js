// The few-shot transfer panel: target files, class names, the affinity
// heatmap and row editor, finetuning with progress, and adapted models in
// IndexedDB. app.js passes the painter's hooks to initTransfer.
import { $, state, call, reportError, cachedFetch, download } from "./engine.js";

let app; // hooks from app.js: model(), modelName(), setModel, loadExamples, loadModelBytes, scheduleGenerate

export function initTransfer(hooks) { app = hooks; }
export function hasAffinity() { return !!affinity; }
export function resetAffinity() { affinity = null; state.affinity = null; renderHeatmap(null); }
// setEstimatorAssets receives the estimators' inputs the page fetched at
// boot: [{entry, bytes}] for the index entries of kind glove, backbone,
// segmenter and prototypes (one per model, named MODEL.prototypes).
export function setEstimatorAssets(list) { assets = list; }

let affinity = null;   // MatrixInfo
// The panel's one state: idle, estimating or training. Every button's
// enabled state follows from it (updateButtons), so that nothing a running
// estimate or finetune finishes can re-enable Start under another run.
let panel = "idle";
function setPanel(p) { panel = p; state.transferPanel = p; updateButtons(); }
function updateButtons() {
  const t = state.target, n = t ? t.pairs.length : 0, classes = t ? t.classes.length : 0;
  const idle = panel === "idle";
  $("applyNames").disabled = $("estimate").disabled = !idle || classes === 0 || n === 0;
  $("start").disabled = !idle || !affinity || n === 0;
  $("stop").disabled = panel !== "training";
  if (idle && affinity && n > 0 && !state.finetune) showEstimate(); // after a run its outcome stays shown
}
// Step-time estimate from the last generation: a finetuning step is about
// three generations (forward, backward) per image. Until the user edits
// it, Steps is set so that a first run ends in about a minute.
let stepsEdited = false;
function showEstimate() {
  const gen = state.lastGen && state.lastGen.ms;
  if (!gen) return;
  const batch = Math.max(1, Math.floor(Number($("batch").value) || 4));
  const perStep = 3 * gen * Math.min(batch, state.target.pairs.length);
  if (!stepsEdited) $("steps").value = Math.max(5, Math.min(100, Math.round(60000 / perStep)));
  const steps = Math.max(1, Math.floor(Number($("steps").value) || 1));
  $("trainText").textContent = `about ${fmtTime(steps * perStep)} for ${steps} steps (${Math.round(perStep)} ms/step estimated)`;
}
let keptFiles = [];    // every file added since the last clear, for an engine restart
let assets = [];       // estimator inputs, sent to the engine when it lacks them
let protosSentFor = null; // the model whose prototypes the engine holds

export function renderTarget(info) {
  state.target = info;
  const n = info.pairs.length;
  $("pairs").textContent = n ? `${n} image${n > 1 ? "s" : ""} with label maps: ${info.pairs.slice(0, 8).join(", ")}${n > 8 ? ", …" : ""}` : "No target images yet.";
  const ul = $("fileMessages");
  ul.textContent = "";
  for (const m of info.messages || []) {
    const li = document.createElement("li");
    li.textContent = `${m.file}: ${m.error}`;
    if (m.note) li.className = "note"; // skipped, not wrong
    ul.append(li);
  }
  const t = $("targetClasses");
  t.textContent = "";
  info.classes.forEach((c, i) => {
    const tr = t.insertRow();
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = c.color;
    tr.insertCell().append(sw);
    const inp = document.createElement("input");
    inp.value = c.name;
    inp.dataset.index = i;
    tr.insertCell().append(inp);
  });
  updateButtons();
}

async function addFiles(list) {
  const files = [];
  for (const f of list) files.push({ name: f.webkitRelativePath || f.name, data: new Uint8Array(await f.arrayBuffer()) });
  try {
    renderTarget(await call("addTargetFiles", [files]));
    keptFiles.push(...files);
  } catch (err) { reportError(err); }
}

export function forgetFiles() { keptFiles = []; }

// transferSnapshot and restoreTransfer carry the transfer over an engine
// restart: the engine's session is gone, the page still has everything.
export function transferSnapshot() {
  return {
    files: keptFiles.slice(),
    names: state.target ? state.target.classes.map((c) => c.name) : [],
    matrix: affinity,
    adapted: !!(app.model() && app.model().adapted),
  };
}
export async function restoreTransfer(snap) {
  if (!snap.files.length) return; // an adapted model file restores itself
  keptFiles = snap.files;
  renderTarget({ ...(await call("addTargetFiles", [snap.files])), messages: [] });
  if (snap.names.length) renderTarget({ ...(await call("setTargetNames", [snap.names])), messages: [] });
  if (snap.matrix) setAffinity(await call("setAffinity", [snap.matrix.w, snap.matrix.method]));
  if (snap.adapted) { app.setModel(await call("setAdapted", [true])); await app.loadExamples(); }
}
$("targetFiles").onchange = async () => { await addFiles($("targetFiles").files); $("targetFiles").value = ""; };
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
$("clearTarget").onclick = async () => {
  renderTarget(await call("clearTarget"));
  keptFiles = [];
  affinity = null; renderHeatmap(null);
  if (app.model().adapted) { app.setModel(await call("setAdapted", [false])); await app.loadExamples(); }
};

async function applyNames() {
  const names = [...$("targetClasses").querySelectorAll("input")].map((i) => i.value);
  renderTarget({ ...(await call("setTargetNames", [names])), messages: [] });
  if (app.model().adapted) app.setModel(await call("info"));
}
$("applyNames").onclick = () => applyNames().catch(reportError);

// sendAssets gives the engine the inputs of method it does not hold yet
// (after a restart it holds none). A missing input is not an error here:
// the engine says what it lacks, and "combined" leaves that estimator out.
async function sendAssets(method) {
  const kinds = { text: ["glove"], vision: ["backbone", "prototypes"], seg: ["segmenter"] };
  const need = method === "combined" ? [...kinds.text, ...kinds.vision, ...kinds.seg] : kinds[method];
  for (const kind of need) {
    let a;
    if (kind === "prototypes") {
      a = assets.find((x) => x.entry.kind === kind && x.entry.name === `${app.modelName()}.prototypes`);
      if (!a || (protosSentFor === app.modelName() && await call("hasAsset", [kind]))) continue;
      protosSentFor = app.modelName();
    } else {
      a = assets.find((x) => x.entry.kind === kind);
      if (!a || await call("hasAsset", [kind])) continue;
    }
    $("affMethod").textContent = `loading ${a.entry.name}…`;
    await call("loadAsset", [kind, a.bytes.slice(), a.entry.name]);
  }
}

$("estimate").onclick = async () => {
  if (panel !== "idle") return;
  const method = $("estMethod").value;
  setPanel("estimating");
  try {
    await applyNames();
    await sendAssets(method);
    $("affMethod").textContent = "estimating…";
    setAffinity(await call("estimate", [method]));
  } catch (err) {
    $("affMethod").textContent = "";
    reportError(err);
  } finally {
    setPanel("idle");
  }
};

export function setAffinity(m) {
  affinity = m;
  state.affinity = m;
  renderHeatmap(m);
  updateButtons();
  $("modeLabel").hidden = false;
}

let editRow = -1;
export function renderHeatmap(m) {
  const t = $("heatmap");
  t.textContent = "";
  $("rowEditor").hidden = true;
  $("affWarnings").textContent = "";
  $("affMethod").textContent = m ? `method: ${m.method}` : "";
  if (!m) return;
  const head = t.createTHead().insertRow();
  head.append(document.createElement("th"));
  for (const s of m.source) {
    const th = document.createElement("th");
    const sp = document.createElement("span");
    sp.textContent = s;
    th.append(sp);
    head.append(th);
  }
  const body = t.createTBody();
  m.target.forEach((name, r) => {
    const tr = body.insertRow();
    if (r === editRow) tr.classList.add("on");
    const th = document.createElement("th");
    th.textContent = name;
    tr.append(th);
    m.w[r].forEach((v, c) => {
      const td = tr.insertCell();
      td.style.background = `rgba(47, 111, 222, ${Math.sqrt(v).toFixed(3)})`;
      td.title = `${name} → ${m.source[c]}: ${v.toFixed(3)}`;
      td.textContent = v >= 0.05 ? v.toFixed(2).replace(/^0/, "") : ""; // the weights worth reading
    });
    tr.onclick = () => { editRow = r; renderHeatmap(affinity); openRowEditor(r); };
  });
  for (const w of m.warnings || []) {
    const li = document.createElement("li");
    li.textContent = w;
    $("affWarnings").append(li);
  }
}

function termInput(src, weight) {
  const span = document.createElement("span");
  span.className = "term";
  const sel = document.createElement("select");
  affinity.source.forEach((s, i) => sel.add(new Option(s, i)));
  sel.value = src;
  const w = document.createElement("input");
  w.type = "number"; w.min = "0"; w.step = "0.05"; w.value = weight.toFixed(2);
  span.append(sel, " × ", w, " ");
  return span;
}
function openRowEditor(r) {
  const row = affinity.w[r];
  const top = row.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 3).filter(([v], k) => k === 0 || v > 0.02);
  $("rowName").textContent = affinity.target[r];
  const terms = $("rowTerms");
  terms.textContent = "";
  for (const [v, i] of top) terms.append(termInput(i, v));
  const rest = 1 - top.reduce((a, [v]) => a + v, 0);
  $("rowRest").textContent = rest > 0.005 ? `+ ${rest.toFixed(2)} spread over the other ${row.length - top.length} classes (applying keeps only the terms shown, renormalised)` : "";
  $("rowEditor").hidden = false;
}
$("addTerm").onclick = () => $("rowTerms").append(termInput(0, 0.5));
$("applyRow").onclick = async () => {
  const row = new Array(affinity.source.length).fill(0);
  for (const t of $("rowTerms").querySelectorAll(".term")) {
    row[Number(t.querySelector("select").value)] += Math.max(0, Number(t.querySelector("input").value) || 0);
  }
  const rows = affinity.w.map((r, i) => (i === editRow ? row : r));
  try {
    setAffinity(await call("setAffinity", [rows, "edited"]));
    if (app.model().adapted) app.scheduleGenerate(0);
  } catch (err) { reportError(err); }
};

$("useTarget").onchange = async () => {
  try { app.setModel(await call("setAdapted", [$("useTarget").checked])); await app.loadExamples(); }
  catch (err) { $("useTarget").checked = !$("useTarget").checked; reportError(err); }
};

function drawLoss(losses) {
  const c = $("lossPlot"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (losses.length < 2) return;
  const lo = Math.min(...losses), hi = Math.max(...losses), span = hi - lo || 1;
  ctx.strokeStyle = "#2f6fde"; ctx.lineWidth = 1.5;
  ctx.beginPath();
  losses.forEach((v, i) => {
    const x = 4 + (i / (losses.length - 1)) * (c.width - 8), y = 6 + (1 - (v - lo) / span) * (c.height - 12);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}

function fmtTime(ms) { return ms < 60000 ? `${Math.ceil(ms / 1000)} s` : `${Math.floor(ms / 60000)} min ${Math.ceil((ms % 60000) / 1000)} s`; }

$("steps").oninput = () => { stepsEdited = true; updateButtons(); };
$("batch").oninput = () => updateButtons();
$("start").onclick = async () => {
  if (panel !== "idle") return; // a second click while a run goes on
  const steps = Math.max(1, Math.floor(Number($("steps").value) || 100)), lr = Number($("lr").value) || 0.1;
  const batch = Math.max(1, Math.floor(Number($("batch").value) || 4));
  const losses = [];
  setPanel("training");
  $("app").classList.add("disabled");
  state.finetune = { running: true, losses };
  $("trainText").textContent = "starting…";
  try {
    const res = await call("finetune", [{ steps, lr, batch, previewEvery: 5 }], {
      onProgress: (p) => {
        losses.push(p.loss);
        $("trainBar").max = p.steps; $("trainBar").value = p.step;
        $("trainText").textContent = `step ${p.step} / ${p.steps} · loss ${p.loss.toFixed(4)} · ${p.msPerStep.toFixed(0)} ms/step · ${fmtTime(p.etaMs)} left`;
        drawLoss(losses);
        if (p.preview) $("preview").getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(p.preview.buffer), app.model().width, app.model().height), 0, 0);
      },
    });
    state.finetune = { running: false, losses: res.losses, stopped: res.stopped, msPerStep: res.msPerStep, lossBefore: res.lossBefore, lossAfter: res.lossAfter };
    $("trainText").textContent = `${res.stopped ? "stopped" : "done"} after ${res.losses.length} steps · loss on the target set ${res.lossBefore.toFixed(4)} → ${res.lossAfter.toFixed(4)} · ${res.msPerStep.toFixed(0)} ms/step`;
    setAffinity(res.matrix);
    app.setModel(await call("info"));
    await app.loadExamples();
    $("saveModel").disabled = false;
  } catch (err) {
    state.finetune = { running: false, losses, error: String(err.message || err) };
    reportError(err, true);
  } finally {
    setPanel("idle");
    $("app").classList.remove("disabled");
  }
};
$("stop").onclick = () => call("stop");

// ---------- adapted models in IndexedDB ----------
function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open("catsynth", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("adapted", { keyPath: "name" });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function dbDo(mode, f) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction("adapted", mode);
    const req = f(tx.objectStore("adapted"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}
export async function listSaved() {
  const keys = await dbDo("readonly", (s) => s.getAllKeys());
  const sel = $("savedModels");
  sel.textContent = "";
  sel.add(new Option(keys.length ? "choose…" : "—", ""));
  for (const k of keys) sel.add(new Option(k, k));
  $("loadSaved").disabled = !keys.length;
}
$("saveModel").onclick = async () => {
  try {
    const bytes = await call("saveAdapted");
    const name = `${app.modelName().replace(/\.safetensors(\.zst)?$/, "")}-${state.target.classes.map((c) => c.name).slice(0, 3).join("-")}-${new Date().toISOString().slice(0, 16).replace("T", "-").replace(":", "")}`.replace(/[^\w.-]+/g, "_");
    await dbDo("readwrite", (s) => s.put({ name, bytes, date: Date.now() }));
    download(new Blob([bytes]), name + ".safetensors.zst");
    await listSaved();
    state.saved++;
  } catch (err) { reportError(err); }
};
$("loadSaved").onclick = async () => {
  const key = $("savedModels").value;
  if (!key) return;
  try {
    const rec = await dbDo("readonly", (s) => s.get(key));
    await app.loadModelBytes(rec.bytes, rec.name);
  } catch (err) { reportError(err); }
};

// tfjs_predict.cjs runs a tfjs layers model from an unpacked nsfwjs package
// with TensorFlow.js's own pure-JavaScript CPU backend and prints the
// outputs of the requested layers as JSON. catsynth's parity tests compare
// them with the same model imported into Go.
//
// usage: NODE_PATH=<dir with @tensorflow/tfjs-{core,layers,backend-cpu}>
//        node tfjs_predict.cjs MODEL_DIR INPUT.f32 N OUT.json LAYER...
// MODEL_DIR holds model.min.js and group1-shard*.min.js (nsfwjs's layout);
// INPUT.f32 holds N images (N, H, W, 3) as little-endian float32 in [0, 1].
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const tfl = require("@tensorflow/tfjs-layers");

async function main() {
  const [modelDir, inputPath, nStr, outPath, ...layers] = process.argv.slice(2);
  await tf.setBackend("cpu");
  const model = require(path.resolve(modelDir, "model.min.js"));
  const group = model.weightsManifest[0];
  const parts = group.paths.map((p) => Buffer.from(require(path.resolve(modelDir, p + ".min.js")), "base64"));
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const net = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: model.modelTopology, weightSpecs: group.weights, weightData,
  }));
  const shape = net.inputs[0].shape; // [null, H, W, 3]
  const n = Number(nStr);
  const raw = fs.readFileSync(inputPath);
  const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), [n, shape[1], shape[2], shape[3]]);
  const outs = layers.map((l) => net.getLayer(l).output);
  const sub = tfl.model({ inputs: net.inputs, outputs: outs });
  let ys = sub.predict(x);
  if (!Array.isArray(ys)) ys = [ys];
  const res = { tfjs: tf.version_core, backend: tf.getBackend(), outputs: {} };
  layers.forEach((l, i) => { res.outputs[l] = { shape: ys[i].shape, data: Array.from(ys[i].dataSync()) }; });
  fs.writeFileSync(outPath, JSON.stringify(res));
}
main().catch((e) => { console.error(e); process.exit(1); });

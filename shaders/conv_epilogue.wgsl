// The conv epilogue as its own pass, in place on y (n, O, S): for the
// convolutions whose kernel does not fuse it (depthwise, split-K).
// y = act(y * scale[o] + shift[o]); act from epilogue_act.wgsl. Template
// constants: HAS_SCALE, HAS_SHIFT (an unflagged buffer is a placeholder).
override HAS_SCALE: bool = false;
override HAS_SHIFT: bool = false;
const WG: u32 = 64u;

struct EpiParams { n: u32, o: u32, s: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> scale: array<f32>;
@group(0) @binding(1) var<storage, read> shift: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> E: EpiParams;

@compute @workgroup_size(WG, 1, 1)
fn epilogue(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= E.n) { return; }
  let o = i / E.s % E.o;
  var z = y[i];
  if (HAS_SCALE) { z = z * scale[o]; }
  if (HAS_SHIFT) { z = z + shift[o]; }
  y[i] = act(z);
}

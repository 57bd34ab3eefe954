// Bindings of the conv forward with a fused epilogue (conv_fwd_io.wgsl):
// y = act(conv(x, w) * scale[o] + shift[o]), act from epilogue_act.wgsl.
// Template constants: HAS_SCALE, HAS_SHIFT (a buffer without its flag is a
// placeholder the kernel never reads), and epilogue_act.wgsl's.
override HAS_SCALE: bool = false;
override HAS_SHIFT: bool = false;

@group(0) @binding(0) var<storage, read> xbuf: array<f32>;
@group(0) @binding(1) var<storage, read> wbuf: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> ybuf: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

fn finish(o: u32, v: f32) -> f32 {
  var z = v;
  if (HAS_SCALE) { z = z * scale[o]; }
  if (HAS_SHIFT) { z = z + shift[o]; }
  return act(z);
}

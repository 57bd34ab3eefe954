// Direct kernels for depthwise convolution (Groups == C, so CG = 1 and each
// input channel c feeds the OG = O/C output channels c*OG .. c*OG+OG-1).
// Assembled after matmul_common.wgsl (Params). Elements are numbered linearly
// from P.wgOffset to P.wgEnd (exclusive) over a folded 2D grid of WG-wide
// workgroups, so long work can be split into several dispatches.
// Bindings: 0 and 1 the inputs, 2 the output (see each entry point).
const WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> src0: array<f32>;
@group(0) @binding(1) var<storage, read> src1: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

fn elemOf(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return P.wgOffset + (wid.x + wid.y * nwg.x) * WG + lid.x;
}

// dw_fwd: src0 = x (n, C, H, W), src1 = w (O, 1, KH, KW), dst = y (n, O, OH, OW).
@compute @workgroup_size(WG, 1, 1)
fn dw_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = elemOf(wid, nwg, lid);
  if (e >= P.wgEnd) { return; }
  let q = e % P.ohw;
  let io = e / P.ohw;             // img*O + o
  let o = io % P.o;
  let img = io / P.o;
  let c = o / P.og;
  let ih0 = i32(q / P.ow) * P.sh - P.ph;
  let iw0 = i32(q % P.ow) * P.sw - P.pw;
  let xb = (img * P.c + c) * P.h * P.w;
  var acc = 0.0;
  for (var kh = 0u; kh < P.kh; kh++) {
    let ih = ih0 + i32(kh);
    if (ih < 0 || ih >= i32(P.h)) { continue; }
    for (var kw = 0u; kw < P.kw; kw++) {
      let iw = iw0 + i32(kw);
      if (iw < 0 || iw >= i32(P.w)) { continue; }
      acc = fma(src0[xb + u32(ih) * P.w + u32(iw)], src1[o * P.khw + kh * P.kw + kw], acc);
    }
  }
  dst[e] = acc;
}

// dw_dgrad: src0 = dy (n, O, OH, OW), src1 = w (O, 1, KH, KW), dst = dx (n, C, H, W).
@compute @workgroup_size(WG, 1, 1)
fn dw_dgrad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = elemOf(wid, nwg, lid);
  if (e >= P.wgEnd) { return; }
  let hw = P.h * P.w;
  let q = e % hw;
  let ic = e / hw;                // img*C + c
  let c = ic % P.c;
  let img = ic / P.c;
  let ih = i32(q / P.w);
  let iw = i32(q % P.w);
  var acc = 0.0;
  for (var j = 0u; j < P.og; j++) {
    let o = c * P.og + j;
    let yb = (img * P.o + o) * P.ohw;
    for (var kh = 0u; kh < P.kh; kh++) {
      let th = ih + P.ph - i32(kh);
      if (th < 0 || th % P.sh != 0 || u32(th / P.sh) >= P.oh) { continue; }
      let oh = u32(th / P.sh);
      for (var kw = 0u; kw < P.kw; kw++) {
        let tw = iw + P.pw - i32(kw);
        if (tw < 0 || tw % P.sw != 0 || u32(tw / P.sw) >= P.ow) { continue; }
        let ow = u32(tw / P.sw);
        acc = fma(src0[yb + oh * P.ow + ow], src1[o * P.khw + kh * P.kw + kw], acc);
      }
    }
  }
  dst[e] = acc;
}

var<workgroup> part: array<f32, WG>;

// dw_wgrad: src0 = x (n, C, H, W), src1 = dy (n, O, OH, OW), dst = dw (O, 1, KH, KW).
// One workgroup per weight: its WG invocations stride over n*OH*OW and then
// reduce their partial sums in workgroup memory.
@compute @workgroup_size(WG, 1, 1)
fn dw_wgrad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = P.wgOffset + wid.x + wid.y * nwg.x;   // weight index o*KH*KW + r (uniform)
  let ok = e < P.wgEnd;
  var acc = 0.0;
  if (ok) {
    let o = e / P.khw;
    let r = e % P.khw;
    let c = o / P.og;
    let total = P.n * P.ohw;
    for (var i = lid.x; i < total; i += WG) {
      let img = i / P.ohw;
      let q = i % P.ohw;
      let ih = i32(q / P.ow) * P.sh - P.ph + i32(r / P.kw);
      let iw = i32(q % P.ow) * P.sw - P.pw + i32(r % P.kw);
      if (ih < 0 || iw < 0 || ih >= i32(P.h) || iw >= i32(P.w)) { continue; }
      let xv = src0[((img * P.c + c) * P.h + u32(ih)) * P.w + u32(iw)];
      acc = fma(xv, src1[(img * P.o + o) * P.ohw + q], acc);
    }
  }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (ok && lid.x == 0u) { dst[e] = part[0]; }
}

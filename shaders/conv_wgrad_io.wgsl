// Operands of conv2d grad-weight as an implicit GEMM reducing over n*OH*OW,
// one batch item per group g:
//   C = dw[g*OG:(g+1)*OG] as (M = OG) x (N = CG*KH*KW),
//   A[o][(img, oh, ow)] = dy[img, g*OG+o, oh, ow], K = n*OH*OW,
//   B[(img, oh, ow)][(c, kh, kw)] = x[img, g*CG+c, oh*SH-PH+kh, ow*SW-PW+kw] (0 in the padding).
@group(0) @binding(0) var<storage, read> xbuf: array<f32>;
@group(0) @binding(1) var<storage, read> dybuf: array<f32>;
@group(0) @binding(2) var<storage, read_write> dwbuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

const A_MCONTIG: bool = false;
const B_NCONTIG: bool = false;

fn loadA(g: u32, m: u32, kk: u32) -> f32 {
  let k = kk + P.kOff;
  let img = k / P.ohw;
  let q = k % P.ohw;
  return dybuf[(img * P.o + g * P.og + m) * P.ohw + q];
}

fn loadB(g: u32, kk: u32, n: u32) -> f32 {
  let k = kk + P.kOff;
  let img = k / P.ohw;
  let q = k % P.ohw;
  let c = n / P.khw;
  let r = n % P.khw;
  let ih = i32(q / P.ow) * P.sh - P.ph + i32(r / P.kw);
  let iw = i32(q % P.ow) * P.sw - P.pw + i32(r % P.kw);
  if (ih < 0 || iw < 0 || ih >= i32(P.h) || iw >= i32(P.w)) { return 0.0; }
  return xbuf[((img * P.c + g * P.cg + c) * P.h + u32(ih)) * P.w + u32(iw)];
}

fn storeC(g: u32, m: u32, n: u32, v: f32) {
  dwbuf[P.cOff + (g * P.og + m) * P.N + n] = v;
}

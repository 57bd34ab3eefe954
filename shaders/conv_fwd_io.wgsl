// Operands of conv2d forward as an implicit GEMM, one batch item per group g:
//   C = y[:, g*OG:(g+1)*OG] as (M = OG) x (N = n*OH*OW),
//   A = w[g*OG:(g+1)*OG] as M x (K = CG*KH*KW),
//   B = im2col(x) as K x N, never materialised: loadB gathers from x.
// The bindings (xbuf, wbuf, ybuf, P) and finish(o, v), which storeC applies
// to output channel o's values, come from conv_fwd_plain.wgsl or, with a
// fused epilogue, conv_fwd_epilogue.wgsl.

const A_MCONTIG: bool = false;
const B_NCONTIG: bool = true;

fn loadA(g: u32, m: u32, k: u32) -> f32 {
  return wbuf[(g * P.og + m) * P.kFull + k + P.kOff];
}

fn loadB(g: u32, kk: u32, n: u32) -> f32 {
  let k = kk + P.kOff;
  let c = k / P.khw;
  let r = k % P.khw;
  let img = n / P.ohw;
  let q = n % P.ohw;
  let ih = i32(q / P.ow) * P.sh - P.ph + i32(r / P.kw);
  let iw = i32(q % P.ow) * P.sw - P.pw + i32(r % P.kw);
  if (ih < 0 || iw < 0 || ih >= i32(P.h) || iw >= i32(P.w)) { return 0.0; }
  return xbuf[((img * P.c + g * P.cg + c) * P.h + u32(ih)) * P.w + u32(iw)];
}

fn storeC(g: u32, m: u32, n: u32, v: f32) {
  let img = n / P.ohw;
  let q = n % P.ohw;
  ybuf[P.cOff + (img * P.o + g * P.og + m) * P.ohw + q] = finish(g * P.og + m, v);
}

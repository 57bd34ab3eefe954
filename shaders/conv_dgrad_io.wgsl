// Operands of conv2d grad-input as an implicit GEMM, one batch item per group g:
//   C = dx[:, g*CG:(g+1)*CG] as (M = CG) x (N = n*H*W),
//   A = w[g*OG:(g+1)*OG] transposed: A[c][(o, kh, kw)] = w[g*OG+o, c, kh, kw], K = OG*KH*KW,
//   B[(o, kh, kw)][(img, ih, iw)] = dy[img, g*OG+o, oh, ow] where ih = oh*SH - PH + kh
//   (likewise iw), and 0 where no such (oh, ow) exists: with stride > 1 only one
//   kernel offset in SH hits a given row, the others read zero.
@group(0) @binding(0) var<storage, read> dybuf: array<f32>;
@group(0) @binding(1) var<storage, read> wbuf: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxbuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

const A_MCONTIG: bool = false;
const B_NCONTIG: bool = true;

fn loadA(g: u32, m: u32, kk: u32) -> f32 {
  let k = kk + P.kOff;
  let o = k / P.khw;
  let r = k % P.khw;
  return wbuf[((g * P.og + o) * P.cg + m) * P.khw + r];
}

fn loadB(g: u32, kk: u32, n: u32) -> f32 {
  let k = kk + P.kOff;
  let o = k / P.khw;
  let r = k % P.khw;
  let hw = P.h * P.w;
  let img = n / hw;
  let q = n % hw;
  let th = i32(q / P.w) + P.ph - i32(r / P.kw);
  let tw = i32(q % P.w) + P.pw - i32(r % P.kw);
  if (th < 0 || tw < 0 || th % P.sh != 0 || tw % P.sw != 0) { return 0.0; }
  let oh = u32(th / P.sh);
  let ow = u32(tw / P.sw);
  if (oh >= P.oh || ow >= P.ow) { return 0.0; }
  return dybuf[(img * P.o + g * P.og + o) * P.ohw + oh * P.ow + ow];
}

fn storeC(g: u32, m: u32, n: u32, v: f32) {
  let hw = P.h * P.w;
  let img = n / hw;
  let q = n % hw;
  dxbuf[P.cOff + (img * P.c + g * P.cg + m) * hw + q] = v;
}

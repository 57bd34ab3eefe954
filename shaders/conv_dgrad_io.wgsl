// Operands of conv2d grad-input as an implicit GEMM. With stride S > 1 a
// given input row ih only receives gradient from the kernel rows
// kh = (ih + PH) mod S (+ multiples of S), so the input pixels are split into
// SH*SW phases (ih mod SH, iw mod SW) and each phase is its own GEMM over just
// its taps (no work on taps that the stride skips). One batch item per
// (group g, phase (py, px)), bt = g*SH*SW + py*SW + px:
//   C = dx[:, g*CG:(g+1)*CG, py::SH, px::SW] as (M = CG) x (N = n*HP*WP),
//       HP = ceil(H/SH), WP = ceil(W/SW) (columns past H or W are dropped),
//   A[c][(o, a, b)] = w[g*OG+o, c, kh0 + a*SH, kw0 + b*SW], K = OG*KHP*KWP,
//       kh0 = (py + PH) mod SH, KHP = ceil(KH/SH) (0 past the kernel),
//   B[(o, a, b)][(img, i, j)] = dy[img, g*OG+o, i - a + dy0, j - b + dx0],
//       dy0 = (py + PH - kh0)/SH (0 outside dy).
// With stride 1 this is the plain transposed convolution.
@group(0) @binding(0) var<storage, read> dybuf: array<f32>;
@group(0) @binding(1) var<storage, read> wbuf: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxbuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

const A_MCONTIG: bool = false;
const B_NCONTIG: bool = true;

// Phase is what a batch item bt fixes: group, phase and first taps.
struct Phase { g: u32, py: u32, px: u32, kh0: u32, kw0: u32, dy0: i32, dx0: i32 }

fn phaseOf(bt: u32) -> Phase {
  let nph = u32(P.sh * P.sw);
  var f: Phase;
  f.g = bt / nph;
  let q = bt % nph;
  f.py = q / u32(P.sw);
  f.px = q % u32(P.sw);
  f.kh0 = (f.py + u32(P.ph)) % u32(P.sh);
  f.kw0 = (f.px + u32(P.pw)) % u32(P.sw);
  f.dy0 = (i32(f.py) + P.ph - i32(f.kh0)) / P.sh;
  f.dx0 = (i32(f.px) + P.pw - i32(f.kw0)) / P.sw;
  return f;
}

fn loadA(bt: u32, m: u32, kk: u32) -> f32 {
  let f = phaseOf(bt);
  let k = kk + P.kOff;
  let taps = P.khp * P.kwp;
  let o = k / taps;
  let r = k % taps;
  let kh = f.kh0 + (r / P.kwp) * u32(P.sh);
  let kw = f.kw0 + (r % P.kwp) * u32(P.sw);
  if (kh >= P.kh || kw >= P.kw) { return 0.0; }
  return wbuf[((f.g * P.og + o) * P.cg + m) * P.khw + kh * P.kw + kw];
}

fn loadB(bt: u32, kk: u32, n: u32) -> f32 {
  let f = phaseOf(bt);
  let k = kk + P.kOff;
  let taps = P.khp * P.kwp;
  let o = k / taps;
  let r = k % taps;
  let pix = P.hp * P.wp;
  let img = n / pix;
  let q = n % pix;
  let oh = i32(q / P.wp) - i32(r / P.kwp) + f.dy0;
  let ow = i32(q % P.wp) - i32(r % P.kwp) + f.dx0;
  if (oh < 0 || ow < 0 || oh >= i32(P.oh) || ow >= i32(P.ow)) { return 0.0; }
  return dybuf[(img * P.o + f.g * P.og + o) * P.ohw + u32(oh) * P.ow + u32(ow)];
}

fn storeC(bt: u32, m: u32, n: u32, v: f32) {
  let f = phaseOf(bt);
  let pix = P.hp * P.wp;
  let img = n / pix;
  let q = n % pix;
  let ih = f.py + (q / P.wp) * u32(P.sh);
  let iw = f.px + (q % P.wp) * u32(P.sw);
  if (ih >= P.h || iw >= P.w) { return; }
  dxbuf[P.cOff + ((img * P.c + f.g * P.cg + m) * P.h + ih) * P.w + iw] = v;
}

// Shared declarations of the GEMM kernel lab (matmul_{naive,regblock,tiled}.wgsl,
// conv_*_io.wgsl, conv_depthwise.wgsl).
//
// A kernel source is assembled on the host (nn/gpu/matmul.go) as:
//   matmul_common.wgsl (this file: Params, tile decoding)
//   + one operand file (matmul_io.wgsl or conv_{fwd,dgrad,wgrad}_io.wgsl) that
//     declares the bindings and loadA(bt, m, k), loadB(bt, k, n), storeC(bt, m, n, v)
//     and the layout hints A_MCONTIG, B_NCONTIG
//   + one GEMM body (matmul_naive.wgsl, matmul_regblock.wgsl, matmul_tiled.wgsl).
// The body computes, for every batch item bt < batch, C(M x N) = A(M x K) * B(K x N).
// The body only calls loadA/loadB with m < M, n < N, k < K. Template
// constants are `override` declarations that nn/gpu turns into consts.

// Params is the uniform block of every GEMM-shaped kernel (36 u32/i32 values).
// Matmul uses the first 12 fields and the split-K ones; the conv operand files
// use the rest.
// The body loops k over [0, K); with split-K (several GEMMs over K ranges
// summed afterwards) the operand files read k + kOff of the full kFull and
// store at cOff into a scratch buffer.
struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  tilesM: u32, tilesN: u32, wgOffset: u32, wgEnd: u32,
  sA: u32, sB: u32, sC: u32, n: u32,      // matmul batch strides; conv batch size n
  c: u32, h: u32, w: u32, o: u32,         // conv input channels, height, width, output channels
  kh: u32, kw: u32, oh: u32, ow: u32,     // kernel and output sizes
  sh: i32, sw: i32, ph: i32, pw: i32,     // strides and paddings
  cg: u32, og: u32, khw: u32, ohw: u32,   // C/G, O/G, KH*KW, OH*OW
  kOff: u32, cOff: u32, kFull: u32,      // split-K: k offset, C offset, full K
  hp: u32, wp: u32, khp: u32, kwp: u32,   // conv grad-input phases: ceil(H/SH), ceil(W/SW),
  _pad: u32,                              // ceil(KH/SH), ceil(KW/SW)
}

// Tile says which output tile a workgroup computes: batch item bt, tile row tm,
// tile column tn; ok is false for the padding workgroups of a folded grid.
struct Tile { bt: u32, tm: u32, tn: u32, ok: bool }

// tileOf decodes the folded 2D workgroup grid: workgroups are numbered linearly
// from P.wgOffset (so long work can be split into several dispatches and a grid
// never exceeds 65535 workgroups per dimension), tile columns fastest.
fn tileOf(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let lin = P.wgOffset + wid.x + wid.y * nwg.x;
  var t: Tile;
  t.ok = lin < P.wgEnd;
  t.tn = lin % P.tilesN;
  let r = lin / P.tilesN;
  t.tm = r % P.tilesM;
  t.bt = r / P.tilesM;
  t.ok = t.ok && t.bt < P.batch;
  return t;
}

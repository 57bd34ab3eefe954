// Operands of the batched matmul C_b = op(A_b) * op(B_b) (see backend.MatMul).
// Template constants: TRANS_A, TRANS_B.
override TRANS_A: bool;
override TRANS_B: bool;

@group(0) @binding(0) var<storage, read> abuf: array<f32>;
@group(0) @binding(1) var<storage, read> bbuf: array<f32>;
@group(0) @binding(2) var<storage, read_write> cbuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

// Layout hints for the tile loaders: is A contiguous along m, B along n?
const A_MCONTIG: bool = TRANS_A;
const B_NCONTIG: bool = !TRANS_B;

fn loadA(bt: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) { return abuf[bt * P.sA + (k + P.kOff) * P.M + m]; }
  return abuf[bt * P.sA + m * P.kFull + k + P.kOff];
}

fn loadB(bt: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return bbuf[bt * P.sB + n * P.kFull + k + P.kOff]; }
  return bbuf[bt * P.sB + (k + P.kOff) * P.N + n];
}

fn storeC(bt: u32, m: u32, n: u32, v: f32) {
  cbuf[P.cOff + bt * P.sC + m * P.N + n] = v;
}

// Operands of the batched matmul (as matmul_io.wgsl) read 4 values at a time,
// for matmul_stage4.wgsl. A and B are bound as arrays of vec4, so the host
// uses this file only when, for A and B alike, the contiguous dimension
// (K or M for A, N or K for B), the batch stride and the split-K offset are
// multiples of 4. loadA4(bt, m, k) returns A[m][k..k+3] when k is contiguous,
// else A[m..m+3][k] (likewise loadB4 along n or k).
// Template constants: TRANS_A, TRANS_B.
override TRANS_A: bool;
override TRANS_B: bool;

@group(0) @binding(0) var<storage, read> abuf: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bbuf: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> cbuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

const A_MCONTIG: bool = TRANS_A;
const B_NCONTIG: bool = !TRANS_B;

fn loadA4(bt: u32, m: u32, k: u32) -> vec4<f32> {
  if (TRANS_A) { return abuf[(bt * P.sA + (k + P.kOff) * P.M + m) / 4u]; }
  return abuf[(bt * P.sA + m * P.kFull + k + P.kOff) / 4u];
}

fn loadB4(bt: u32, k: u32, n: u32) -> vec4<f32> {
  if (TRANS_B) { return bbuf[(bt * P.sB + n * P.kFull + k + P.kOff) / 4u]; }
  return bbuf[(bt * P.sB + (k + P.kOff) * P.N + n) / 4u];
}

fn storeC(bt: u32, m: u32, n: u32, v: f32) {
  cbuf[P.cOff + bt * P.sC + m * P.N + n] = v;
}

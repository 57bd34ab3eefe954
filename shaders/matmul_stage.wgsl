// Scalar staging for matmul_tiled.wgsl: copies the BM x BK slice of A at
// (m0, k0) into As[k*BM + m] and the BK x BN slice of B at (k0, n0) into
// Bs[k*BN + n], zero outside the matrices. Consecutive invocations read
// consecutive addresses along the contiguous dimension (A_MCONTIG, B_NCONTIG
// from the operand file). Works with every operand file.

fn stageA(bt: u32, m0: u32, k0: u32, li: u32) {
  for (var l = 0u; l < BM * BK / NT; l++) {
    let e = li + l * NT;
    var m: u32;
    var k: u32;
    if (A_MCONTIG) { m = e % BM; k = e / BM; } else { k = e % BK; m = e / BK; }
    var v = 0.0;
    if (m0 + m < P.M && k0 + k < P.K) { v = loadA(bt, m0 + m, k0 + k); }
    As[k * BM + m] = v;
  }
}

fn stageB(bt: u32, n0: u32, k0: u32, li: u32) {
  for (var l = 0u; l < BN * BK / NT; l++) {
    let e = li + l * NT;
    var n: u32;
    var k: u32;
    if (B_NCONTIG) { n = e % BN; k = e / BN; } else { k = e % BK; n = e / BK; }
    var v = 0.0;
    if (n0 + n < P.N && k0 + k < P.K) { v = loadB(bt, k0 + k, n0 + n); }
    Bs[k * BN + n] = v;
  }
}

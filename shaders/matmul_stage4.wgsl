// Vector staging for matmul_tiled.wgsl with matmul_io4.wgsl: like
// matmul_stage.wgsl, but every invocation loads runs of 4 consecutive values
// along the contiguous dimension with one vec4 load. The operand file's
// alignment conditions (contiguous lengths, batch strides and k offset all
// multiples of 4) make every run either wholly inside or wholly outside the
// matrix. Needs BM*BK/4 and BN*BK/4 to be multiples of the invocation count.

fn stageA(bt: u32, m0: u32, k0: u32, li: u32) {
  for (var l = 0u; l < BM * BK / (4u * NT); l++) {
    let e = li + l * NT;
    if (A_MCONTIG) {
      let m = (e % (BM / 4u)) * 4u;
      let k = e / (BM / 4u);
      var v = vec4<f32>(0.0);
      if (m0 + m < P.M && k0 + k < P.K) { v = loadA4(bt, m0 + m, k0 + k); }
      let i = k * BM + m;
      As[i] = v.x; As[i + 1u] = v.y; As[i + 2u] = v.z; As[i + 3u] = v.w;
    } else {
      let k = (e % (BK / 4u)) * 4u;
      let m = e / (BK / 4u);
      var v = vec4<f32>(0.0);
      if (m0 + m < P.M && k0 + k < P.K) { v = loadA4(bt, m0 + m, k0 + k); }
      As[k * BM + m] = v.x; As[(k + 1u) * BM + m] = v.y;
      As[(k + 2u) * BM + m] = v.z; As[(k + 3u) * BM + m] = v.w;
    }
  }
}

fn stageB(bt: u32, n0: u32, k0: u32, li: u32) {
  for (var l = 0u; l < BN * BK / (4u * NT); l++) {
    let e = li + l * NT;
    if (B_NCONTIG) {
      let n = (e % (BN / 4u)) * 4u;
      let k = e / (BN / 4u);
      var v = vec4<f32>(0.0);
      if (n0 + n < P.N && k0 + k < P.K) { v = loadB4(bt, k0 + k, n0 + n); }
      let i = k * BN + n;
      Bs[i] = v.x; Bs[i + 1u] = v.y; Bs[i + 2u] = v.z; Bs[i + 3u] = v.w;
    } else {
      let k = (e % (BK / 4u)) * 4u;
      let n = e / (BK / 4u);
      var v = vec4<f32>(0.0);
      if (n0 + n < P.N && k0 + k < P.K) { v = loadB4(bt, k0 + k, n0 + n); }
      Bs[k * BN + n] = v.x; Bs[(k + 1u) * BN + n] = v.y;
      Bs[(k + 2u) * BN + n] = v.z; Bs[(k + 3u) * BN + n] = v.w;
    }
  }
}

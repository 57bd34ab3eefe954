// v2/v3: register-blocked GEMM without workgroup memory. Each invocation
// computes TM x 4 outputs (TM = 4 or 8) whose rows are WG_Y apart and columns
// WG_X apart, so that neighbouring invocations read neighbouring addresses of
// B and the same address of A. Best on software adapters (lavapipe,
// SwiftShader), where workgroup memory and barriers are slow. The
// accumulators are named vec4s rather than an array: software compilers
// (llvmpipe) keep those in registers, while a dynamically indexed array may
// live in memory; the rows 4..7 are under `if (TM == 8u)`, folded away at
// compile time.
// Template constants: WG_X, WG_Y, TM.
override WG_X: u32;
override WG_Y: u32;
override TM: u32;

const BM: u32 = WG_Y * TM;
const BN: u32 = WG_X * 4u;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = tileOf(wid, nwg);
  if (!t.ok) { return; }
  let r0 = t.tm * BM + lid.y;
  let c0 = t.tn * BN + lid.x;
  // Out-of-range rows and columns are clamped for loading and skipped when
  // storing, which keeps the inner loop free of branches.
  let mx = P.M - 1u;
  let nx = P.N - 1u;
  let n0 = min(c0, nx);
  let n1 = min(c0 + WG_X, nx);
  let n2 = min(c0 + 2u * WG_X, nx);
  let n3 = min(c0 + 3u * WG_X, nx);
  let m0 = min(r0, mx);
  let m1 = min(r0 + WG_Y, mx);
  let m2 = min(r0 + 2u * WG_Y, mx);
  let m3 = min(r0 + 3u * WG_Y, mx);
  let m4 = min(r0 + 4u * WG_Y, mx);
  let m5 = min(r0 + 5u * WG_Y, mx);
  let m6 = min(r0 + 6u * WG_Y, mx);
  let m7 = min(r0 + 7u * WG_Y, mx);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let bv = vec4<f32>(loadB(t.bt, k, n0), loadB(t.bt, k, n1), loadB(t.bt, k, n2), loadB(t.bt, k, n3));
    acc0 = fma(vec4<f32>(loadA(t.bt, m0, k)), bv, acc0);
    acc1 = fma(vec4<f32>(loadA(t.bt, m1, k)), bv, acc1);
    acc2 = fma(vec4<f32>(loadA(t.bt, m2, k)), bv, acc2);
    acc3 = fma(vec4<f32>(loadA(t.bt, m3, k)), bv, acc3);
    if (TM == 8u) {
      acc4 = fma(vec4<f32>(loadA(t.bt, m4, k)), bv, acc4);
      acc5 = fma(vec4<f32>(loadA(t.bt, m5, k)), bv, acc5);
      acc6 = fma(vec4<f32>(loadA(t.bt, m6, k)), bv, acc6);
      acc7 = fma(vec4<f32>(loadA(t.bt, m7, k)), bv, acc7);
    }
  }
  var accs = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var i = 0u; i < TM; i++) {
    let m = r0 + i * WG_Y;
    for (var j = 0u; j < 4u; j++) {
      let n = c0 + j * WG_X;
      if (m < P.M && n < P.N) { storeC(t.bt, m, n, accs[i][j]); }
    }
  }
}

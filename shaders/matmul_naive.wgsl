// v1: naive GEMM, one output per invocation, BN x BM invocations per workgroup.
override BM: u32;
override BN: u32;

@compute @workgroup_size(BN, BM, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = tileOf(wid, nwg);
  if (!t.ok) { return; }
  let m = t.tm * BM + lid.y;
  let n = t.tn * BN + lid.x;
  if (m >= P.M || n >= P.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < P.K; k++) {
    acc = fma(loadA(t.bt, m, k), loadB(t.bt, k, n), acc);
  }
  storeC(t.bt, m, n, acc);
}

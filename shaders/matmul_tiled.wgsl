// v4-v6: workgroup-memory tiled GEMM for discrete GPUs. A workgroup computes a
// BM x BN tile of C, stepping over K in slices of BK staged in workgroup
// memory; each of its (BN/TN) x (BM/TM) invocations computes TM x TN outputs
// in registers. An invocation's rows come in TM/4 groups of 4 consecutive rows,
// BM/(TM/4) apart (columns likewise), so that it reads workgroup memory in
// aligned runs of 4 (one vector load where the compiler sees it) and
// neighbouring invocations read neighbouring runs (no bank conflicts). The
// workgroup arrays are scalar: writing one component of a shared vec4 can
// become a read-modify-write of the whole vector, a race between invocations
// (seen on llvmpipe).
// Template constants: BM, BN, BK, TM, TN (TM, TN multiples of 4), and
// ACC_N = TM*TN/4, AS_N = BK*BM, BS_N = BK*BN (naga wants array sizes as
// plain constants). BM*BK and BN*BK must be multiples of the invocation count.
// Workgroup memory: 4*BK*(BM+BN) bytes. The slices are staged by stageA and
// stageB of matmul_stage.wgsl (scalar loads, any operand file) or
// matmul_stage4.wgsl (vec4 loads, matmul_io4.wgsl), assembled before this file.
override BM: u32;
override BN: u32;
override BK: u32;
override TM: u32;
override TN: u32;
override ACC_N: u32;
override AS_N: u32;
override BS_N: u32;

const TX: u32 = BN / TN;
const TY: u32 = BM / TM;
const NT: u32 = TX * TY;
const GM: u32 = TM / 4u;
const GN: u32 = TN / 4u;
const SM4: u32 = TY;  // distance of an invocation's row groups, in vec4s
const SN4: u32 = TX;

var<workgroup> As: array<f32, AS_N>; // As[k*BM + m] = A[m0+m][k0+k]
var<workgroup> Bs: array<f32, BS_N>; // Bs[k*BN + n] = B[k0+k][n0+n]

fn as4(i: u32) -> vec4<f32> { return vec4<f32>(As[i], As[i + 1u], As[i + 2u], As[i + 3u]); }
fn bs4(i: u32) -> vec4<f32> { return vec4<f32>(Bs[i], Bs[i + 1u], Bs[i + 2u], Bs[i + 3u]); }

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let t = tileOf(wid, nwg);
  if (!t.ok) { return; }
  let m0 = t.tm * BM;
  let n0 = t.tn * BN;
  var acc: array<vec4<f32>, ACC_N>;
  var a4: array<vec4<f32>, GM>;
  var b4: array<vec4<f32>, GN>;
  for (var k0 = 0u; k0 < P.K; k0 += BK) {
    stageA(t.bt, m0, k0, li);
    stageB(t.bt, n0, k0, li);
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      for (var p = 0u; p < GM; p++) { a4[p] = as4(k * BM + (p * SM4 + lid.y) * 4u); }
      for (var q = 0u; q < GN; q++) { b4[q] = bs4(k * BN + (q * SN4 + lid.x) * 4u); }
      for (var p = 0u; p < GM; p++) {
        for (var i = 0u; i < 4u; i++) {
          let av = vec4<f32>(a4[p][i]);
          for (var q = 0u; q < GN; q++) {
            let x = (p * 4u + i) * GN + q;
            acc[x] = fma(av, b4[q], acc[x]);
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var p = 0u; p < GM; p++) {
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + (p * SM4 + lid.y) * 4u + i;
      for (var q = 0u; q < GN; q++) {
        let v = acc[(p * 4u + i) * GN + q];
        for (var j = 0u; j < 4u; j++) {
          let n = n0 + (q * SN4 + lid.x) * 4u + j;
          if (m < P.M && n < P.N) { storeC(t.bt, m, n, v[j]); }
        }
      }
    }
  }
}

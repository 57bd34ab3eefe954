// Strided copy of a RANK-dimensional index space (backend.Strided):
// dst[doff + sum i_k*dstr_k] = src[soff + sum i_k*sstr_k]. Strides are i32
// (a view may run backwards); shape and strides hold 4 values per vec4.
// Grid-stride loop: the host caps the workgroup count.

override RANK: u32 = 1u;
const WG: u32 = 64u;

struct CopyParams {
    n: u32, soff: i32, doff: i32, pad: u32,
    shape: array<vec4<u32>, 2>,
    sstr: array<vec4<i32>, 2>,
    dstr: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: CopyParams;

@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x + gid.y * nwg.x * WG; i < p.n; i += nwg.x * nwg.y * WG) {
        var rem = i;
        var si = p.soff;
        var di = p.doff;
        for (var k = i32(RANK) - 1; k >= 0; k--) {
            let s = p.shape[k / 4][k % 4];
            let c = i32(rem % s);
            rem = rem / s;
            si += c * p.sstr[k / 4][k % 4];
            di += c * p.dstr[k / 4][k % 4];
        }
        dst[u32(di)] = src[u32(si)];
    }
}

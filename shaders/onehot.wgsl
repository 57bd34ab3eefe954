// One-hot expansion (backend.OneHot): dst (N, C, Inner) from idx (N, Inner)
// holding class indices as float32; the index is truncated toward zero (as
// Go's int(v)) and an index outside [0, C) gives all zeros.

const WG: u32 = 64u;

struct OneHotParams { n: u32, c: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> idx: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: OneHotParams;

@compute @workgroup_size(64)
fn onehot(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.n * p.c * p.inner) {
        return;
    }
    let q = t % p.inner;
    let c = (t / p.inner) % p.c;
    let n = t / (p.inner * p.c);
    let v = idx[n * p.inner + q];
    // Compare as floats first: out-of-range values would overflow i32.
    let hit = v > -1.0 && v < f32(p.c) && u32(max(v, 0.0)) == c;
    dst[t] = select(0.0, 1.0, hit);
}

// Nearest resizing of planes (backend.Resize): output (i, j) reads input
// (i*H/OH, j*W/OW) (integer division, PyTorch's mode="nearest").
// resize_grad gathers, for each input pixel, the outputs that read it, in
// the same row-major order as a scatter over outputs would add them.

const WG: u32 = 64u;

struct ResizeParams { planes: u32, h: u32, w: u32, oh: u32, ow: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: ResizeParams;

@compute @workgroup_size(64)
fn resize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.planes * p.oh * p.ow) {
        return;
    }
    let j = t % p.ow;
    let i = (t / p.ow) % p.oh;
    let c = t / (p.ow * p.oh);
    dst[t] = x[(c * p.h + i * p.h / p.oh) * p.w + j * p.w / p.ow];
}

// First output index o with o*n/on >= r, i.e. ceil(r*on/n).
fn first_out(r: u32, n: u32, on: u32) -> u32 {
    return (r * on + n - 1u) / n;
}

@compute @workgroup_size(64)
fn resize_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.planes * p.h * p.w) {
        return;
    }
    let c0 = t % p.w;
    let r0 = (t / p.w) % p.h;
    let pl = t / (p.w * p.h);
    let i0 = first_out(r0, p.h, p.oh);
    let i1 = first_out(r0 + 1u, p.h, p.oh);
    let j0 = first_out(c0, p.w, p.ow);
    let j1 = first_out(c0 + 1u, p.w, p.ow);
    var acc = 0.0;
    for (var i = i0; i < i1; i++) {
        for (var j = j0; j < j1; j++) {
            acc += x[(pl * p.oh + i) * p.ow + j];
        }
    }
    dst[t] = acc;
}

// Adam/AdamW step, in place on param, m, v (see backend.Adam):
//   g = grad*gscale; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g
//   param -= lr*(m/bc1)/(sqrt(v/bc2)+eps) + lr*wd*param
// Grid-stride loop: the host caps the workgroup count.

const WG: u32 = 64u;

struct AdamParams {
    n: u32, lr: f32, b1: f32, b2: f32,
    eps: f32, wd: f32, bc1: f32, bc2: f32,
    gscale: f32,
}
@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: AdamParams;

@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x + gid.y * nwg.x * WG; i < p.n; i += nwg.x * nwg.y * WG) {
        let g = grad[i] * p.gscale;
        let mi = p.b1 * m[i] + (1.0 - p.b1) * g;
        let vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        let w = param[i];
        param[i] = w - (p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps) + p.lr * p.wd * w);
    }
}

// Fused modulation (backend.Fused: Modulate, ModulateGrad) of x viewed as
// (N, C, S): y = x * (gamma + offset) + beta, gamma and beta laid out per
// PER: 0 as x, 1 one value per (n, c), 2 one per c.
// modulate and modulate_grad_full (PER 0) are element-wise;
// modulate_grad_reduce (PER 1, 2) runs one workgroup per gamma value: it
// writes dx for the values that gamma value scales and sums dgamma and
// dbeta over them (compensated float32 partial sums, then a tree in
// workgroup memory).

override PER: u32 = 0u;
const WG: u32 = 64u;

struct ModParams { total: u32, c: u32, s: u32, nparam: u32, offset: f32, segs: u32, segstride: u32, pad: u32 }

fn param_of(i: u32, q: ModParams) -> u32 {
    if (PER == 1u) {
        return i / q.s;
    }
    if (PER == 2u) {
        return (i / q.s) % q.c;
    }
    return i;
}

@group(0) @binding(0) var<storage, read> mx: array<f32>;
@group(0) @binding(1) var<storage, read> mgamma: array<f32>;
@group(0) @binding(2) var<storage, read> mbeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> my: array<f32>;
@group(0) @binding(4) var<uniform> mp: ModParams;

@compute @workgroup_size(64)
fn modulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= mp.total) {
        return;
    }
    let j = param_of(i, mp);
    my[i] = mx[i] * (mgamma[j] + mp.offset) + mbeta[j];
}

// modulate_bias is modulate (PER 0) with per-channel biases added to gamma
// and beta (backend.Modulation.Bias).
@group(0) @binding(0) var<storage, read> bx: array<f32>;
@group(0) @binding(1) var<storage, read> bgamma: array<f32>;
@group(0) @binding(2) var<storage, read> bbeta: array<f32>;
@group(0) @binding(3) var<storage, read> bgbias: array<f32>;
@group(0) @binding(4) var<storage, read> bbbias: array<f32>;
@group(0) @binding(5) var<storage, read_write> by: array<f32>;
@group(0) @binding(6) var<uniform> bp: ModParams;

@compute @workgroup_size(64)
fn modulate_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= bp.total) {
        return;
    }
    let c = (i / bp.s) % bp.c;
    by[i] = bx[i] * (bgamma[i] + (bp.offset + bgbias[c])) + (bbeta[i] + bbbias[c]);
}

@group(0) @binding(0) var<storage, read> fdy: array<f32>;
@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fgamma: array<f32>;
@group(0) @binding(3) var<storage, read> fgbias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fdx: array<f32>;
@group(0) @binding(5) var<storage, read_write> fdgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> fdbeta: array<f32>;
@group(0) @binding(7) var<uniform> fp: ModParams;

@compute @workgroup_size(64)
fn modulate_grad_full_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= fp.total) {
        return;
    }
    let g = fdy[i];
    fdx[i] = g * (fgamma[i] + (fp.offset + fgbias[(i / fp.s) % fp.c]));
    fdgamma[i] = g * fx[i];
    fdbeta[i] = g;
}

@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> ggamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(4) var<storage, read_write> gdgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> gdbeta: array<f32>;
@group(0) @binding(6) var<uniform> gp: ModParams;

@compute @workgroup_size(64)
fn modulate_grad_full(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= gp.total) {
        return;
    }
    let g = gdy[i];
    gdx[i] = g * (ggamma[i] + gp.offset);
    gdgamma[i] = g * gx[i];
    gdbeta[i] = g;
}

var<workgroup> red: array<vec2<f32>, 64>;

fn kahan(acc: vec2<f32>, v: f32) -> vec2<f32> {
    let y = v - acc.y;
    let t = acc.x + y;
    return vec2<f32>(t, (t - acc.x) - y);
}

@compute @workgroup_size(64)
fn modulate_grad_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
    let k = wid.x + wid.y * nwg.x;
    if (k >= gp.nparam) {
        return;
    }
    // Values scaled by gamma[k]: segs runs of S from k*S, segstride apart
    // (k = n*C + c with one run, or k = c with a run per sample).
    let base = k * gp.s;
    let a = ggamma[k] + gp.offset;
    let count = gp.segs * gp.s;
    var sgx = vec2<f32>(0.0, 0.0);
    var sg = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < count; j += WG) {
        let i = base + (j / gp.s) * gp.segstride + j % gp.s;
        let g = gdy[i];
        gdx[i] = g * a;
        sgx = kahan(sgx, g * gx[i]);
        sg = kahan(sg, g);
    }
    red[lid] = vec2<f32>(sgx.x - sgx.y, sg.x - sg.y);
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (lid < w) {
            red[lid] = red[lid] + red[lid + w];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        gdgamma[k] = red[0].x;
        gdbeta[k] = red[0].y;
    }
}

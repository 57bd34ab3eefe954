// Fused normalisation (backend.Fused: Normalize, NormalizeWith,
// NormalizeGrad, UpdateRunning) of x viewed as (N, C, S).
//
// A statistics group k is `segs` runs of `seglen` consecutive values,
// `segstride` apart, from base(k) (see backend.Norm.Segments). normalize and
// normalize_grad run one workgroup per group: its invocations stride over
// the group's values, keep compensated (Kahan) float32 partial sums, and
// combine them by a tree in workgroup memory; the group is then read again
// to write the output, so one dispatch does what the composition needed six
// to ten for. The variance is a second pass over the deviations (exact to
// rounding even when the mean is large against the spread).
// normalize_with and update_running are element-wise.

const WG: u32 = 64u;

struct NormParams {
    stats: u32, count: u32, segs: u32, seglen: u32,
    segstride: u32, groups: u32, c: u32, s: u32,
    batch: u32, eps: f32, momentum: f32, total: u32,
}

var<workgroup> red: array<vec2<f32>, 64>;

// wg_sum2 adds v over the workgroup; every invocation gets the total.
// Call it in uniform control flow.
fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
    red[lid] = v;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (lid < w) {
            red[lid] = red[lid] + red[lid + w];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

// Kahan accumulation: acc.x the running sum, acc.y its rounding error (the
// sum is acc.x - acc.y).
fn kahan(acc: vec2<f32>, v: f32) -> vec2<f32> {
    let y = v - acc.y;
    let t = acc.x + y;
    return vec2<f32>(t, (t - acc.x) - y);
}

fn group_base(k: u32, q: NormParams) -> u32 {
    if (q.batch != 0u) {
        return k * q.seglen;
    }
    return (k / q.groups) * q.c * q.s + (k % q.groups) * q.seglen;
}

// value j of a group starting at base.
fn group_index(base: u32, j: u32, q: NormParams) -> u32 {
    return base + (j / q.seglen) * q.segstride + j % q.seglen;
}

// stat_of is the statistics group of value i of x.
fn stat_of(i: u32, q: NormParams) -> u32 {
    let g = ((i / q.s) % q.c) / (q.c / q.groups);
    if (q.batch != 0u) {
        return g;
    }
    return (i / (q.c * q.s)) * q.groups + g;
}

@group(0) @binding(0) var<storage, read> nx: array<f32>;
@group(0) @binding(1) var<storage, read_write> ny: array<f32>;
@group(0) @binding(2) var<storage, read_write> nmean: array<f32>;
@group(0) @binding(3) var<storage, read_write> nvar: array<f32>;
@group(0) @binding(4) var<uniform> np: NormParams;

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let k = wid.x + wid.y * nwg.x;
    if (k >= np.stats) {
        return;
    }
    let base = group_base(k, np);
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < np.count; j += WG) {
        acc = kahan(acc, nx[group_index(base, j, np)]);
    }
    let cnt = f32(max(np.count, 1u));
    let mean = wg_sum2(vec2<f32>(acc.x - acc.y, 0.0), lid).x / cnt;
    acc = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < np.count; j += WG) {
        let d = nx[group_index(base, j, np)] - mean;
        acc = kahan(acc, d * d);
    }
    let variance = wg_sum2(vec2<f32>(acc.x - acc.y, 0.0), lid).x / cnt;
    let r = inverseSqrt(variance + np.eps);
    for (var j = lid; j < np.count; j += WG) {
        let i = group_index(base, j, np);
        ny[i] = (nx[i] - mean) * r;
    }
    if (lid == 0u) {
        nmean[k] = mean;
        nvar[k] = variance;
    }
}

@group(0) @binding(0) var<storage, read> wx: array<f32>;
@group(0) @binding(1) var<storage, read> wmean: array<f32>;
@group(0) @binding(2) var<storage, read> wvar: array<f32>;
@group(0) @binding(3) var<storage, read_write> wy: array<f32>;
@group(0) @binding(4) var<uniform> wp: NormParams;

@compute @workgroup_size(64)
fn normalize_with(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= wp.total) {
        return;
    }
    let k = stat_of(i, wp);
    wy[i] = (wx[i] - wmean[k]) * inverseSqrt(wvar[k] + wp.eps);
}

@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gmean: array<f32>;
@group(0) @binding(3) var<storage, read> gvar: array<f32>;
@group(0) @binding(4) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(5) var<uniform> gp: NormParams;

@compute @workgroup_size(64)
fn normalize_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let k = wid.x + wid.y * nwg.x;
    if (k >= gp.stats) {
        return;
    }
    let base = group_base(k, gp);
    let mean = gmean[k];
    let r = inverseSqrt(gvar[k] + gp.eps);
    var sg = vec2<f32>(0.0, 0.0);
    var sgx = vec2<f32>(0.0, 0.0);
    for (var j = lid; j < gp.count; j += WG) {
        let i = group_index(base, j, gp);
        let g = gdy[i];
        sg = kahan(sg, g);
        sgx = kahan(sgx, g * (gx[i] - mean) * r);
    }
    let cnt = f32(max(gp.count, 1u));
    let sums = wg_sum2(vec2<f32>(sg.x - sg.y, sgx.x - sgx.y), lid) / cnt;
    for (var j = lid; j < gp.count; j += WG) {
        let i = group_index(base, j, gp);
        let xhat = (gx[i] - mean) * r;
        gdx[i] = r * (gdy[i] - sums.x - xhat * sums.y);
    }
}

@group(0) @binding(0) var<storage, read> umean: array<f32>;
@group(0) @binding(1) var<storage, read> uvar: array<f32>;
@group(0) @binding(2) var<storage, read_write> urun_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> urun_var: array<f32>;
@group(0) @binding(4) var<uniform> up: NormParams;

@compute @workgroup_size(64)
fn update_running(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if (k >= up.stats) {
        return;
    }
    let c = f32(up.count);
    let unbias = c / max(c - 1.0, 1.0);
    let m = up.momentum;
    urun_mean[k] = (1.0 - m) * urun_mean[k] + m * umean[k];
    urun_var[k] = (1.0 - m) * urun_var[k] + m * unbias * uvar[k];
}

// Element-wise kernels: fill, unary, unary gradient, broadcast binary.
// Op codes are the backend.UnaryOp / backend.BinaryOp values, passed as the
// OP override (nn/gpu turns it into a const, so each op compiles to its own
// branch-free pipeline). Linear index = gid.x + gid.y * num_workgroups.x * WG.

override OP: u32 = 0u;
override RANK: u32 = 1u;
override CHUNK: u32 = 1u;
const WG: u32 = 64u;

fn linear(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Grid-stride loops: the host caps the workgroup count (per-invocation
// overhead dominates on software adapters), so each invocation handles
// indices linear, linear + total, ... below n.
fn total(nwg: vec3<u32>) -> u32 {
    return nwg.x * nwg.y * WG;
}

// ---- fill: dst[i] = v for i < n ----
struct FillParams { n: u32, v: f32 }
@group(0) @binding(0) var<storage, read_write> fill_dst: array<f32>;
@group(0) @binding(1) var<uniform> fp: FillParams;

@compute @workgroup_size(64)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = linear(gid, nwg); i < fp.n; i += total(nwg)) {
        fill_dst[i] = fp.v;
    }
}

// ---- unary: dst[i] = f(x[i]) ----
struct UnaryParams { n: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<storage, read> ux: array<f32>;
@group(0) @binding(1) var<storage, read_write> udst: array<f32>;
@group(0) @binding(2) var<uniform> up: UnaryParams;

const INV_SQRT2: f32 = 0.70710678118654752;
const INV_SQRT2PI: f32 = 0.39894228040143268;

// erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes erfcc).
fn erfc_(x: f32) -> f32 {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
        t * (-0.82215223 + t * 0.17087277)))))))));
    return select(2.0 - r, r, x >= 0.0);
}

// Phi is the standard normal CDF.
fn phi_cdf(x: f32) -> f32 {
    return 0.5 * erfc_(-x * INV_SQRT2);
}

// tanh_ avoids exp overflow for large |x| and keeps relative precision near 0.
fn tanh_(x: f32) -> f32 {
    let a = abs(x);
    if (a < 0.0625) {
        let x2 = x * x;
        return x * (1.0 + x2 * (-0.33333333 + x2 * 0.13333333));
    }
    let t = exp(-2.0 * a);
    return sign(x) * (1.0 - t) / (1.0 + t);
}

fn sigmoid_(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn unary_f(x: f32, a: f32, b: f32) -> f32 {
    switch OP {
        // @generated unary_f: one case per op of nn/backend.Unaries (WGSL)
        default: { return x; }
    }
}

@compute @workgroup_size(64)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = linear(gid, nwg); i < up.n; i += total(nwg)) {
        udst[i] = unary_f(ux[i], up.alpha, up.beta);
    }
}

// ---- unary_grad: dx[i] = dy[i] * f'(x[i]), y = f(x) ----
@group(0) @binding(0) var<storage, read> gx: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> gdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(4) var<uniform> gp: UnaryParams;

fn unary_df(x: f32, y: f32, a: f32, b: f32) -> f32 {
    switch OP {
        // @generated unary_df: one case per op of nn/backend.Unaries (WGSLGrad)
        default: { return 1.0; }
    }
}

@compute @workgroup_size(64)
fn unary_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = linear(gid, nwg); i < gp.n; i += total(nwg)) {
        gdx[i] = gdy[i] * unary_df(gx[i], gy[i], gp.alpha, gp.beta);
    }
}

// ---- binary: dst[i] = a[ia] op b[ib] over a contiguous output of RANK dims ----
// shape/astr/bstr hold up to 6 values, 4 per vec4 (uniform arrays need 16-byte strides).
struct BinaryParams {
    n: u32,
    shape: array<vec4<u32>, 2>,
    astr: array<vec4<u32>, 2>,
    bstr: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> ba: array<f32>;
@group(0) @binding(1) var<storage, read> bb: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdst: array<f32>;
@group(0) @binding(3) var<uniform> bp: BinaryParams;

fn binary_f(a: f32, b: f32) -> f32 {
    switch OP {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return max(a, b); }
        case 5u: { return min(a, b); }
        default: { return a; }
    }
}

fn bshape(k: u32) -> u32 { return bp.shape[k / 4u][k % 4u]; }
fn bastr(k: u32) -> u32 { return bp.astr[k / 4u][k % 4u]; }
fn bbstr(k: u32) -> u32 { return bp.bstr[k / 4u][k % 4u]; }

// Each invocation handles runs of CHUNK consecutive outputs: it decomposes
// the first index once and then steps the multi-index with carries, since
// integer division is slow on software adapters (CHUNK = 1 on GPUs keeps
// neighbouring invocations on neighbouring addresses).
@compute @workgroup_size(64)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let last = RANK - 1u;
    for (var c0 = linear(gid, nwg) * CHUNK; c0 < bp.n; c0 += total(nwg) * CHUNK) {
        var idx: array<u32, 6>;
        var rem = c0;
        var ia = 0u;
        var ib = 0u;
        for (var k = i32(last); k >= 0; k--) {
            let s = bshape(u32(k));
            idx[k] = rem % s;
            rem = rem / s;
            ia += idx[k] * bastr(u32(k));
            ib += idx[k] * bbstr(u32(k));
        }
        let end = min(bp.n, c0 + CHUNK);
        for (var i = c0; i < end; i++) {
            bdst[i] = binary_f(ba[ia], bb[ib]);
            idx[last] += 1u;
            ia += bastr(last);
            ib += bbstr(last);
            var k = last;
            while (k > 0u && idx[k] == bshape(k)) {
                ia -= idx[k] * bastr(k);
                ib -= idx[k] * bbstr(k);
                idx[k] = 0u;
                k -= 1u;
                idx[k] += 1u;
                ia += bastr(k);
                ib += bbstr(k);
            }
        }
    }
}

// 2D pooling of planes (backend.Pool), K x K window, stride, zero padding.
// OP 0: average, padded positions count as zeros (count_include_pad).
// OP 1: max over the in-image positions of the window; ties go to the first
// position in row-major window order (as PyTorch).
// pool_grad gathers, for each input pixel, the windows that contain it, in
// row-major output order (the order a scatter over outputs would add them).

override OP: u32 = 0u;
const WG: u32 = 64u;

struct PoolParams { planes: u32, h: u32, w: u32, k: u32, stride: u32, pad: u32, oh: u32, ow: u32 }

@group(0) @binding(0) var<storage, read> px: array<f32>;
@group(0) @binding(1) var<storage, read_write> pdst: array<f32>;
@group(0) @binding(2) var<uniform> p: PoolParams;

// window_max is the max over the in-image positions of window (oi, oj) of
// plane pl (-FLT_MAX for a window wholly in the padding).
fn window_max(pl: u32, oi: u32, oj: u32) -> f32 {
    var best = -3.4028234663852886e38;
    let r0 = i32(oi * p.stride) - i32(p.pad);
    let c0 = i32(oj * p.stride) - i32(p.pad);
    for (var a = 0u; a < p.k; a++) {
        let r = r0 + i32(a);
        if (r < 0 || r >= i32(p.h)) {
            continue;
        }
        for (var b = 0u; b < p.k; b++) {
            let c = c0 + i32(b);
            if (c >= 0 && c < i32(p.w)) {
                best = max(best, px[(pl * p.h + u32(r)) * p.w + u32(c)]);
            }
        }
    }
    return best;
}

@compute @workgroup_size(64)
fn pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.planes * p.oh * p.ow) {
        return;
    }
    let oj = t % p.ow;
    let oi = (t / p.ow) % p.oh;
    let pl = t / (p.ow * p.oh);
    if (OP == 1u) {
        pdst[t] = window_max(pl, oi, oj);
        return;
    }
    var acc = 0.0;
    let r0 = i32(oi * p.stride) - i32(p.pad);
    let c0 = i32(oj * p.stride) - i32(p.pad);
    for (var a = 0u; a < p.k; a++) {
        let r = r0 + i32(a);
        if (r < 0 || r >= i32(p.h)) {
            continue;
        }
        for (var b = 0u; b < p.k; b++) {
            let c = c0 + i32(b);
            if (c >= 0 && c < i32(p.w)) {
                acc += px[(pl * p.h + u32(r)) * p.w + u32(c)];
            }
        }
    }
    pdst[t] = acc / f32(p.k * p.k);
}

@group(0) @binding(0) var<storage, read> gx: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> gdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(4) var<uniform> gp: PoolParams;

// Output windows containing input coordinate r: o*stride - pad <= r <=
// o*stride - pad + k - 1, clamped to [0, on).
fn out_range(r: u32, on: u32) -> vec2<u32> {
    let hi = i32(r) + i32(gp.pad);
    let lo = hi - i32(gp.k) + 1;
    var first = 0;
    if (lo > 0) {
        first = (lo + i32(gp.stride) - 1) / i32(gp.stride);
    }
    let last = min(hi / i32(gp.stride), i32(on) - 1);
    return vec2<u32>(u32(first), u32(max(last + 1, first)));
}

// grad_window_argmax is the flat input index of the first maximum of window
// (oi, oj), read from gx (0xffffffff for a window wholly in the padding).
fn grad_window_argmax(pl: u32, oi: u32, oj: u32) -> u32 {
    var best = -3.4028234663852886e38;
    var arg = 0xffffffffu;
    let r0 = i32(oi * gp.stride) - i32(gp.pad);
    let c0 = i32(oj * gp.stride) - i32(gp.pad);
    for (var a = 0u; a < gp.k; a++) {
        let r = r0 + i32(a);
        if (r < 0 || r >= i32(gp.h)) {
            continue;
        }
        for (var b = 0u; b < gp.k; b++) {
            let c = c0 + i32(b);
            if (c < 0 || c >= i32(gp.w)) {
                continue;
            }
            let at = (pl * gp.h + u32(r)) * gp.w + u32(c);
            let v = gx[at];
            if (arg == 0xffffffffu || v > best) {
                best = v;
                arg = at;
            }
        }
    }
    return arg;
}

@compute @workgroup_size(64)
fn pool_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= gp.planes * gp.h * gp.w) {
        return;
    }
    let c = t % gp.w;
    let r = (t / gp.w) % gp.h;
    let pl = t / (gp.w * gp.h);
    let ri = out_range(r, gp.oh);
    let ci = out_range(c, gp.ow);
    var acc = 0.0;
    for (var oi = ri.x; oi < ri.y; oi++) {
        for (var oj = ci.x; oj < ci.y; oj++) {
            let o = (pl * gp.oh + oi) * gp.ow + oj;
            if (OP == 1u) {
                if (grad_window_argmax(pl, oi, oj) == t) {
                    acc += gdy[o];
                }
            } else {
                acc += gdy[o] / f32(gp.k * gp.k);
            }
        }
    }
    gdx[t] = acc;
}

// Reflect and replicate padding of planes (backend.Pad): padded pixel
// (i, j) shows input pixel (src(i, H, PH), src(j, W, PW)). pad_grad
// gathers, for each input pixel, the padded pixels that show it: the one
// at its own place, then those of the border rows and columns that map
// onto it. MODE: 1 reflect, 2 replicate.

override MODE: u32 = 1u;
const WG: u32 = 64u;

struct PadParams { planes: u32, h: u32, w: u32, ph: u32, pw: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: PadParams;

// The input index that padded index o of an axis of n pixels padded by
// pad shows.
fn src(o: u32, n: u32, pad: u32) -> u32 {
    let i = i32(o) - i32(pad);
    if (i < 0) {
        if (MODE == 1u) {
            return u32(-i);
        }
        return 0u;
    }
    if (i >= i32(n)) {
        if (MODE == 1u) {
            return u32(2 * (i32(n) - 1) - i);
        }
        return n - 1u;
    }
    return u32(i);
}

@compute @workgroup_size(64)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let oh = p.h + 2u * p.ph;
    let ow = p.w + 2u * p.pw;
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.planes * oh * ow) {
        return;
    }
    let j = t % ow;
    let i = (t / ow) % oh;
    let c = t / (ow * oh);
    dst[t] = x[(c * p.h + src(i, p.h, p.ph)) * p.w + src(j, p.w, p.pw)];
}

// The k-th padded index that may show input index y of an axis of n pixels
// padded by pad: k = 0 its own place, 1..pad the border before the axis,
// pad+1..2*pad the border after it.
fn candidate(k: u32, y: u32, n: u32, pad: u32) -> u32 {
    if (k == 0u) {
        return y + pad;
    }
    if (k <= pad) {
        return k - 1u;
    }
    return n + pad + (k - pad - 1u);
}

@compute @workgroup_size(64)
fn pad_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let oh = p.h + 2u * p.ph;
    let ow = p.w + 2u * p.pw;
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.planes * p.h * p.w) {
        return;
    }
    let c0 = t % p.w;
    let r0 = (t / p.w) % p.h;
    let pl = t / (p.w * p.h);
    var acc = 0.0;
    for (var a = 0u; a <= 2u * p.ph; a++) {
        let i = candidate(a, r0, p.h, p.ph);
        if (a > 0u && src(i, p.h, p.ph) != r0) {
            continue;
        }
        for (var b = 0u; b <= 2u * p.pw; b++) {
            let j = candidate(b, c0, p.w, p.pw);
            if (b > 0u && src(j, p.w, p.pw) != c0) {
                continue;
            }
            acc += x[(pl * oh + i) * ow + j];
        }
    }
    dst[t] = acc;
}

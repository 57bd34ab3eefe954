// Strided reduction (backend.Reduction), no workgroup memory (slow on
// software adapters). The Go side collapses the input into KRANK kept axes
// and RRANK reduced axes, each with its input strides. Invocation t computes
// out[t] for output o = t / nchunk, chunk s = t % nchunk: the reduction of
// reduced indices [s*chunk, min(R, (s+1)*chunk)). With nchunk > 1 a second
// dispatch reduces the partials (contiguous rows of nchunk).
// OP: 0 sum, 1 max.

override OP: u32 = 0u;
override KRANK: u32 = 1u;
override RRANK: u32 = 1u;
const WG: u32 = 64u;

struct ReduceParams {
    nout: u32, r: u32, chunk: u32, nchunk: u32,
    kshape: array<vec4<u32>, 2>,
    kstr: array<vec4<u32>, 2>,
    rshape: array<vec4<u32>, 2>,
    rstr: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: ReduceParams;

fn kshape(k: u32) -> u32 { return p.kshape[k / 4u][k % 4u]; }
fn kstr(k: u32) -> u32 { return p.kstr[k / 4u][k % 4u]; }
fn rshape(k: u32) -> u32 { return p.rshape[k / 4u][k % 4u]; }
fn rstr(k: u32) -> u32 { return p.rstr[k / 4u][k % 4u]; }

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.nout * p.nchunk) {
        return;
    }
    let o = t / p.nchunk;
    let s = t % p.nchunk;
    // Offset of output o.
    var rem = o;
    var base = 0u;
    for (var k = i32(KRANK) - 1; k >= 0; k--) {
        let n = kshape(u32(k));
        base += (rem % n) * kstr(u32(k));
        rem = rem / n;
    }
    let r0 = s * p.chunk;
    let r1 = min(p.r, r0 + p.chunk);
    // Multi-index of r0 over the reduced axes.
    var idx: array<u32, 6>;
    rem = r0;
    var off = base;
    for (var k = i32(RRANK) - 1; k >= 0; k--) {
        let n = rshape(u32(k));
        idx[k] = rem % n;
        rem = rem / n;
        off += idx[k] * rstr(u32(k));
    }
    let last = RRANK - 1u;
    let n0 = rshape(last);
    let st0 = rstr(last);
    var acc = select(0.0, -3.4028234663852886e38, OP == 1u);
    if (OP == 1u && r0 < r1) {
        acc = x[off];
    }
    var r = r0;
    while (r < r1) {
        // Run along the innermost reduced axis.
        let run = min(n0 - idx[last], r1 - r);
        for (var j = 0u; j < run; j++) {
            let v = x[off + j * st0];
            if (OP == 0u) {
                acc += v;
            } else {
                acc = max(acc, v);
            }
        }
        r += run;
        off += run * st0;
        idx[last] += run;
        // Carry into outer reduced axes.
        var k = last;
        while (k > 0u && idx[k] == rshape(k)) {
            off -= idx[k] * rstr(k);
            idx[k] = 0u;
            k -= 1u;
            idx[k] += 1u;
            off += rstr(k);
        }
    }
    out[t] = acc;
}

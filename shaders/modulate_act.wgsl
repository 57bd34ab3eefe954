// The activated modulation (backend.ModulateAct) of x viewed as (N, C, S),
// gamma and beta laid out as x, element-wise:
// y = act(xn * (gamma + offset + gbias[c]) + beta + bbias[c]) with
// xn = (x - mean[c]) * inverseSqrt(variance[c] + eps) under NORM, else x;
// act from epilogue_act.wgsl. Under JOINT gamma and beta are the two
// channel halves of one (N, 2C, S) buffer bound as agamma (SPADE's gamma
// and beta from one convolution) and abeta is not read. Template constants
// NORM, BIAS and JOINT; a buffer whose flag is off is a placeholder, never
// read. Binding counts stay within WebGPU's default of 8 storage buffers
// per stage.
override NORM: bool = false;
override BIAS: bool = false;
override JOINT: bool = false;
const WG: u32 = 64u;

struct ModActParams { total: u32, c: u32, s: u32, offset: f32, eps: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> ax: array<f32>;
@group(0) @binding(1) var<storage, read> amean: array<f32>;
@group(0) @binding(2) var<storage, read> avar: array<f32>;
@group(0) @binding(3) var<storage, read> agamma: array<f32>;
@group(0) @binding(4) var<storage, read> abeta: array<f32>;
@group(0) @binding(5) var<storage, read> agbias: array<f32>;
@group(0) @binding(6) var<storage, read> abbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> ay: array<f32>;
@group(0) @binding(8) var<uniform> ap: ModActParams;

@compute @workgroup_size(64)
fn modulate_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= ap.total) {
        return;
    }
    let c = (i / ap.s) % ap.c;
    var v = ax[i];
    if (NORM) {
        v = (v - amean[c]) * inverseSqrt(avar[c] + ap.eps);
    }
    var ga = ap.offset;
    var ba = 0.0;
    if (BIAS) {
        ga = ap.offset + agbias[c];
        ba = abbias[c];
    }
    var g: f32;
    var b: f32;
    if (JOINT) {
        // row n*C + c of x is row n*2C + c of the joint buffer (gamma),
        // and C rows further on is beta
        let cs = ap.c * ap.s;
        let gi = i + (i / cs) * cs;
        g = agamma[gi];
        b = agamma[gi + cs];
    } else {
        g = agamma[i];
        b = abeta[i];
    }
    ay[i] = act(v * (g + ga) + (b + ba));
}

// modulate_act_grad: dz = dy * act'(z) read from y, dx = dz * (gamma +
// offset + gbias[c]), dgamma = dz * x, dbeta = dz (no normalisation: the
// caller hands the normalised x).
@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> gx: array<f32>;
@group(0) @binding(3) var<storage, read> ggamma: array<f32>;
@group(0) @binding(4) var<storage, read> ggbias: array<f32>;
@group(0) @binding(5) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(6) var<storage, read_write> gdgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> gdbeta: array<f32>;
@group(0) @binding(8) var<uniform> gp: ModActParams;

@compute @workgroup_size(64)
fn modulate_act_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= gp.total) {
        return;
    }
    let g = gdy[i] * dact(gy[i]);
    var ga = gp.offset;
    if (BIAS) {
        ga = gp.offset + ggbias[(i / gp.s) % gp.c];
    }
    gdx[i] = g * (ggamma[i] + ga);
    gdgamma[i] = g * gx[i];
    gdbeta[i] = g;
}

// The activation of a conv epilogue (backend.Activation): ACT 0 identity,
// 1 relu, 2 leaky relu with negative slope SLOPE, 3 relu6, 4 tanh.
override ACT: u32 = 0u;
override SLOPE: f32 = 0.0;

fn act(z: f32) -> f32 {
  switch ACT {
    case 1u: { return max(z, 0.0); }
    case 2u: { return select(SLOPE * z, z, z >= 0.0); }
    case 3u: { return clamp(z, 0.0, 6.0); }
    case 4u: { return epi_tanh(z); }
    default: { return z; }
  }
}

// epi_tanh is elementwise.wgsl's tanh_ (the built-in tanh overflows to NaN
// for large |z| on some drivers and loses relative precision near 0).
fn epi_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.0625) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333 + x2 * 0.13333333));
  }
  let t = exp(-2.0 * a);
  return sign(x) * (1.0 - t) / (1.0 + t);
}

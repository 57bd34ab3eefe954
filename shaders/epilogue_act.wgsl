// The activation of a conv epilogue (backend.Activation): ACT 0 identity,
// 1 relu, 2 leaky relu with negative slope SLOPE, 3 relu6, 4 tanh.
override ACT: u32 = 0u;
override SLOPE: f32 = 0.0;

fn act(z: f32) -> f32 {
  switch ACT {
    case 1u: { return max(z, 0.0); }
    case 2u: { return select(SLOPE * z, z, z >= 0.0); }
    case 3u: { return clamp(z, 0.0, 6.0); }
    case 4u: { return tanh_(z); }
    default: { return z; }
  }
}

{{tanh_fn}}

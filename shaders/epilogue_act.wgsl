// The activation of a conv epilogue and of the activated modulation
// (backend.Activation): ACT 0 identity, 1 relu, 2 leaky relu with negative
// slope SLOPE, 3 relu6, 4 tanh.
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

// dact is act'(z) read from y = act(z), as backend.Epilogue.Derivative:
// relu'(0) = 0, leaky_relu'(0) = SLOPE, relu6' = 1 only inside (0, 6).
fn dact(y: f32) -> f32 {
  switch ACT {
    case 1u: { return select(0.0, 1.0, y > 0.0); }
    case 2u: { return select(SLOPE, 1.0, y > 0.0); }
    case 3u: { return select(0.0, 1.0, y > 0.0 && y < 6.0); }
    case 4u: { return 1.0 - y * y; }
    default: { return 1.0; }
  }
}

{{tanh_fn}}

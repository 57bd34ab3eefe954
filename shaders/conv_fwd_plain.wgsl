// Bindings of the plain conv forward (conv_fwd_io.wgsl): y = conv(x, w).
@group(0) @binding(0) var<storage, read> xbuf: array<f32>;
@group(0) @binding(1) var<storage, read> wbuf: array<f32>;
@group(0) @binding(2) var<storage, read_write> ybuf: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

fn finish(o: u32, v: f32) -> f32 { return v; }

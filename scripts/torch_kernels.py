# torch_kernels.py: the PyTorch peer of the nn/gpu kernel benchmarks, run by
# scripts/gpu-check.sh on a machine with an NVIDIA GPU (PyTorch installed, no
# network). Times matmul and conv3x3 forward and both backward convolutions,
# so that every shape of `go test ./nn/gpu -bench 'MatMul|Conv3x3'` has a
# PyTorch number beside it. fp32 with TF32 off unless a line says tf32;
# GFLOP counts match the Go benchmarks (a backward conv counts the forward's flops).
# PyTorch peer for side-by-side timing of matmul and conv3x3 (fp32, TF32 off) on a GPU machine.
import torch, time
torch.backends.cuda.matmul.allow_tf32=False; torch.backends.cudnn.allow_tf32=False
torch.backends.cudnn.benchmark=True  # let cuDNN pick its fastest algorithm: the fair peer
dev='cuda'
def bench(f, reps=20):
    for _ in range(3): f()
    torch.cuda.synchronize()
    s=torch.cuda.Event(enable_timing=True); e=torch.cuda.Event(enable_timing=True)
    ts=[]
    for _ in range(reps):
        s.record(); f(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
    ts.sort(); return ts[len(ts)//2]/1e3
for n in (1024, 4096):
    a=torch.randn(n,n,device=dev); b=torch.randn(n,n,device=dev)
    t=bench(lambda: a@b); print(f"torch fp32(no tf32) matmul {n}^3: {2*n**3/t/1e12:.1f} TFLOP/s ({t*1e3:.2f} ms)")
torch.backends.cuda.matmul.allow_tf32=True
a=torch.randn(4096,4096,device=dev); b=torch.randn(4096,4096,device=dev)
t=bench(lambda: a@b); print(f"torch tf32 matmul 4096^3: {2*4096**3/t/1e12:.1f} TFLOP/s")
# conv typical of a SPADE generator block: 16x256ch 64x64, 3x3
for (B,C,H,K) in ((16,256,64,256),(16,128,128,128),(4,1024,16,1024)):
    x=torch.randn(B,C,H,H,device=dev); w=torch.randn(K,C,3,3,device=dev)
    f=lambda: torch.nn.functional.conv2d(x,w,padding=1)
    t=bench(f); fl=2*B*K*C*9*H*H
    print(f"torch fp32(no tf32) conv3x3 B{B} C{C} {H}x{H} K{K}: {fl/t/1e12:.1f} TFLOP/s ({t*1e3:.2f} ms)")
# backward of the first conv shape (what BenchmarkConv3x3GradInput/GradWeight time)
B,C,H,K=16,256,64,256
x=torch.randn(B,C,H,H,device=dev); w=torch.randn(K,C,3,3,device=dev); gy=torch.randn(B,K,H,H,device=dev)
fl=2*B*K*C*9*H*H
t=bench(lambda: torch.nn.grad.conv2d_input(x.shape,w,gy,padding=1))
print(f"torch fp32(no tf32) conv3x3 grad-input B{B} C{C} {H}x{H} K{K}: {fl/t/1e12:.1f} TFLOP/s ({t*1e3:.2f} ms)")
t=bench(lambda: torch.nn.grad.conv2d_weight(x,w.shape,gy,padding=1))
print(f"torch fp32(no tf32) conv3x3 grad-weight B{B} C{C} {H}x{H} K{K}: {fl/t/1e12:.1f} TFLOP/s ({t*1e3:.2f} ms)")

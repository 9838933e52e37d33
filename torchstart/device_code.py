"""The "Show code" text of the Device page: plain PyTorch that reproduces the report, the moves and the benchmark."""

from __future__ import annotations

REPORT_CODE = '''import torch

torch_version = torch.__version__
cuda_build = torch.version.cuda                 # None on a CPU-only build (and on ROCm / Apple builds)
hip_build = torch.version.hip                   # the HIP version on a ROCm build, else None
cudnn_version = torch.backends.cudnn.version()  # None without cuDNN
cuda_available = torch.cuda.is_available()
device_count = torch.cuda.device_count() if cuda_available else 0
gpus = []
for i in range(device_count):
    props = torch.cuda.get_device_properties(i)
    gpus.append({
        "name": props.name,
        "capability": torch.cuda.get_device_capability(i),
        "total_memory_gib": props.total_memory / 1024**3,
        "multiprocessors": props.multi_processor_count,
        "allocated_mib": torch.cuda.memory_allocated(i) / 1024**2,
        "reserved_mib": torch.cuda.memory_reserved(i) / 1024**2,
    })
mps_built = torch.backends.mps.is_built()
mps_available = torch.backends.mps.is_available()  # Apple-silicon GPUs
cpu_threads = torch.get_num_threads()
mkl_available = torch.backends.mkl.is_available()
openmp_available = torch.backends.openmp.is_available()
float32_matmul_precision = torch.get_float32_matmul_precision()  # "highest" (the default): no TF32 in matmuls

print(f"PyTorch {torch_version}, built with CUDA {cuda_build}, HIP {hip_build}, cuDNN {cudnn_version}")
print(f"CUDA available: {cuda_available}, devices: {device_count}")
for i, gpu in enumerate(gpus):
    print(f"cuda:{i}", gpu)
print(f"MPS: {mps_available}, CPU threads: {cpu_threads}, MKL: {mkl_available}, OpenMP: {openmp_available}")
print(f"float32 matmul precision: {float32_matmul_precision}")
print(torch.__config__.show())
'''


def report_code() -> str:
    """Code that reads every field of the device report."""
    return REPORT_CODE


def moves_code(device: str) -> str:
    """Code for the device idiom: move a tensor and a model to ``device``, then mix devices on purpose."""
    return f'''import torch
from torch import nn

# The idiom: use the GPU when there is one.
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
device = torch.device("{device}")  # this page uses the device picked in the sidebar

x = torch.arange(6, dtype=torch.float32).reshape(2, 3)  # made on the CPU
x_dev = x.to(device)  # a copy on another device; the very same tensor if it is already on `device`
print(x.device, x.is_cuda, "->", x_dev.device, x_dev.is_cuda, "| same object:", x_dev is x,
      "| same values:", torch.equal(x_dev.cpu(), x))

torch.manual_seed(0)
model = nn.Linear(3, 2)
moved = model.to(device)  # modules move their parameters in place and return themselves
for name, p in model.named_parameters():
    print(name, p.device)
out = model(x_dev)  # model and input on one device
print("output on", out.device, "| model.to returned the same model:", moved is model)

# Mixing devices fails: weights on a GPU, input left on the CPU.
if torch.cuda.is_available():
    gpu = device if device.type == "cuda" else torch.device("cuda:0")
    gpu_model = nn.Linear(3, 2).to(gpu)
    try:
        gpu_model(torch.ones(4, 3))
    except RuntimeError as err:
        print("RuntimeError:", err)
'''


def benchmark_code(sizes: list[int], devices: list[str], dtypes: list[str], warmup: int, repeats: int) -> str:
    """Code that times the same matmuls as the page and prints the same table."""
    return f'''import statistics
import time

import torch

SIZES = {list(sizes)!r}
DEVICES = {list(devices)!r}
DTYPES = {list(dtypes)!r}  # bfloat16 / float16 are timed on GPUs only
WARMUP, REPEATS = {warmup}, {repeats}
# float32 matmuls run at this process-wide setting: "highest" (the default) is true float32, no TF32.
print("float32 matmul precision:", torch.get_float32_matmul_precision())


def sync(device):
    """CUDA kernels run asynchronously: wait for them before reading the clock."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_matmul(n, device, dtype):
    """Seconds of each timed n x n matmul, after untimed warm-up runs."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn((n, n), generator=gen, device=device, dtype=dtype)
    b = torch.randn((n, n), generator=gen, device=device, dtype=dtype)
    times = []
    for run in range(WARMUP + REPEATS):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        if run >= WARMUP:  # warm-up pays for kernel choice, caches and clock ramp-up
            times.append(time.perf_counter() - start)
    return times


results = []
for n in SIZES:
    for name in DEVICES:
        for dtype_name in DTYPES:
            if dtype_name != "float32" and not name.startswith("cuda"):
                continue
            times = time_matmul(n, torch.device(name), getattr(torch, dtype_name))
            median = statistics.median(times)
            results.append({{"device": name, "dtype": dtype_name, "size": n, "median_ms": median * 1e3,
                            "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3,
                            "gflops": 2 * n**3 / median / 1e9}})

cpu = {{r["size"]: r["gflops"] for r in results if r["device"] == "cpu" and r["dtype"] == "float32"}}
for r in results:
    speedup = ""
    if r["device"] != "cpu" and r["size"] in cpu:
        speedup = f"  {{r['gflops'] / cpu[r['size']]:.1f}}x CPU"
    print(f"{{r['device']:>7}} {{r['dtype']:>8}} n={{r['size']:<5}} median {{r['median_ms']:9.3f}} ms "
          f"(fastest {{r['min_ms']:.3f}}, slowest {{r['max_ms']:.3f}}) {{r['gflops']:9.1f}} GFLOP/s{{speedup}}")
'''

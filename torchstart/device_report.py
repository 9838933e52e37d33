"""What this PyTorch install sees: build, GPUs, Apple MPS and CPU threading, as plain rows.

Every value comes straight from one torch call, named next to it in the rows, so a
learner can type the same call and get the same answer. CUDA calls are made only
when ``torch.cuda.is_available()`` is true, so this module is safe on CPU-only builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

GIB = 1024 ** 3
MIB = 1024 ** 2


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device as ``torch.cuda`` describes it; memory counts are in bytes."""

    index: int
    name: str
    capability: tuple[int, int]
    total_memory: int
    multi_processor_count: int
    allocated: int
    reserved: int


@dataclass(frozen=True)
class DeviceReport:
    """Everything the report section shows, each field read from one torch call."""

    torch_version: str
    cuda_build: str | None
    cudnn_version: int | None
    cuda_available: bool
    device_count: int
    gpus: tuple[GpuInfo, ...]
    mps_built: bool
    mps_available: bool
    cpu_threads: int
    mkl_available: bool
    openmp_available: bool
    hip_build: str | None = None  # torch.version.hip: set on ROCm builds, where cuda_build is None
    float32_matmul_precision: str = "highest"  # torch.get_float32_matmul_precision(): "high" allows TF32
    config: str = field(repr=False, default="")


def gpu_info(index: int) -> GpuInfo:
    """Read name, capability, memory and SM count of CUDA device ``index`` (needs CUDA)."""
    props = torch.cuda.get_device_properties(index)
    return GpuInfo(
        index=index,
        name=props.name,
        capability=torch.cuda.get_device_capability(index),
        total_memory=props.total_memory,
        multi_processor_count=props.multi_processor_count,
        allocated=torch.cuda.memory_allocated(index),
        reserved=torch.cuda.memory_reserved(index),
    )


def collect_report() -> DeviceReport:
    """Ask this torch install what it was built with and what hardware it can use now."""
    cuda_available = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda_available else 0
    return DeviceReport(
        torch_version=torch.__version__,
        cuda_build=torch.version.cuda,
        cudnn_version=torch.backends.cudnn.version(),
        cuda_available=cuda_available,
        device_count=count,
        gpus=tuple(gpu_info(i) for i in range(count)),
        mps_built=torch.backends.mps.is_built(),
        mps_available=torch.backends.mps.is_available(),
        cpu_threads=torch.get_num_threads(),
        mkl_available=torch.backends.mkl.is_available(),
        openmp_available=torch.backends.openmp.is_available(),
        hip_build=torch.version.hip,
        float32_matmul_precision=torch.get_float32_matmul_precision(),
        config=torch.__config__.show(),
    )


def _yes_no(flag: bool) -> str:
    """A boolean as the word a learner reads."""
    return "yes" if flag else "no"


def cuda_build_text(report: DeviceReport) -> str:
    """How the table writes ``torch.version.cuda``: the version, or why there is none."""
    if report.cuda_build:
        return report.cuda_build
    # None also on builds with another GPU backend: only a build with none of them is CPU-only.
    if report.hip_build:
        return f"none (ROCm build: HIP {report.hip_build}, from torch.version.hip)"
    if report.mps_built:
        return "none (no CUDA in this build; it has Apple MPS)"
    return "none (CPU-only build)"


def no_cuda_notice(report: DeviceReport) -> str | None:
    """What the page says when PyTorch sees no CUDA device (``None`` when it does)."""
    if report.cuda_available:
        return None  # ROCm GPUs count too: torch.cuda drives them
    text = ("**No CUDA GPU here.** `torch.cuda.is_available()` is `False`, so every tensor on these pages "
            "lives on the CPU and the sidebar offers only `cpu`.")
    if report.mps_available:
        text += (" An Apple GPU is present (`torch.backends.mps.is_available()` is `True`), but this app "
                 "computes on the CPU or CUDA only; in your own code, `torch.device(\"mps\")` uses it.")
    return text


# What the allocated / reserved columns count, shown under the GPU table.
GPU_MEMORY_NOTE = (
    "**Allocated**: bytes held by live tensors. **Reserved**: allocated plus the free blocks PyTorch's caching "
    "allocator keeps for reuse instead of handing back to the driver. Neither includes the CUDA context, so "
    "`nvidia-smi` shows more. Both are for this whole server process: every learner's session, not only yours."
)


def summary_rows(report: DeviceReport) -> list[tuple[str, str, str]]:
    """(what, value, the torch call it comes from) rows for the report table."""
    return [
        ("PyTorch version", report.torch_version, "torch.__version__"),
        ("CUDA version PyTorch was built with", cuda_build_text(report), "torch.version.cuda"),
        ("cuDNN version", str(report.cudnn_version) if report.cudnn_version else "none",
         "torch.backends.cudnn.version()"),
        ("CUDA available now", _yes_no(report.cuda_available), "torch.cuda.is_available()"),
        ("CUDA devices", str(report.device_count), "torch.cuda.device_count()"),
        ("Apple MPS built in", _yes_no(report.mps_built), "torch.backends.mps.is_built()"),
        ("Apple MPS available", _yes_no(report.mps_available), "torch.backends.mps.is_available()"),
        ("CPU threads for ops", str(report.cpu_threads), "torch.get_num_threads()"),
        ("Intel MKL available", _yes_no(report.mkl_available), "torch.backends.mkl.is_available()"),
        ("OpenMP available", _yes_no(report.openmp_available), "torch.backends.openmp.is_available()"),
        ("float32 matmul precision", report.float32_matmul_precision, "torch.get_float32_matmul_precision()"),
    ]


GPU_COLUMNS = ("device", "name", "compute capability", "total memory (GiB)", "multiprocessors",
               "allocated (MiB)", "reserved (MiB)")
# Where each GPU column comes from, shown under the table.
GPU_SOURCES = {
    "name": "torch.cuda.get_device_properties(i).name",
    "compute capability": "torch.cuda.get_device_capability(i)",
    "total memory (GiB)": "torch.cuda.get_device_properties(i).total_memory",
    "multiprocessors": "torch.cuda.get_device_properties(i).multi_processor_count",
    "allocated (MiB)": "torch.cuda.memory_allocated(i)",
    "reserved (MiB)": "torch.cuda.memory_reserved(i)",
}


def gpu_rows(gpus: tuple[GpuInfo, ...]) -> list[tuple[str, str, str, float, int, float, float]]:
    """One row per GPU in ``GPU_COLUMNS`` order, memory in GiB / MiB."""
    return [
        (f"cuda:{g.index}", g.name, f"{g.capability[0]}.{g.capability[1]}",
         round(g.total_memory / GIB, 1), g.multi_processor_count,
         round(g.allocated / MIB, 1), round(g.reserved / MIB, 1))
        for g in gpus
    ]


# An illustrative GPU for CPU-only machines: what the table looks like with one. NOT measured here.
EXAMPLE_GPU = GpuInfo(index=0, name="NVIDIA A100-SXM4-40GB", capability=(8, 0),
                      total_memory=42_505_273_344, multi_processor_count=108,  # torch prints 40536MB
                      allocated=0, reserved=0)
EXAMPLE_CUDA_ROWS: list[tuple[str, str, str]] = [
    ("CUDA version PyTorch was built with", "12.8", "torch.version.cuda"),
    ("cuDNN version", "91002", "torch.backends.cudnn.version()"),
    ("CUDA available now", "yes", "torch.cuda.is_available()"),
    ("CUDA devices", "1", "torch.cuda.device_count()"),
]

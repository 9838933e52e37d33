"""The versions and hardware a learner is running on, for the home page."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import torch

from torchstart.device_report import collect_report, cuda_build_text
from torchstart.devices import available_devices, describe_device


def package_version(name: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def environment_rows() -> list[tuple[str, str]]:
    """(what, value) rows: Python, torch, Streamlit, CUDA build and the devices found."""
    gpus = [describe_device(d) for d in available_devices() if d.startswith("cuda")]
    return [
        ("Python", platform.python_version()),
        ("PyTorch", torch.__version__),
        ("Streamlit", package_version("streamlit")),
        ("CUDA build", cuda_build_text(collect_report())),  # None on ROCm and Apple builds too: not "CPU-only"
        ("GPU available", ", ".join(gpus) if gpus else "no: computing on the CPU"),
        ("CPU threads", str(torch.get_num_threads())),
    ]

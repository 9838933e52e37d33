"""Which devices this PyTorch install can compute on."""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """Device names a learner may pick: always ``cpu``, then each visible CUDA GPU."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return names


def describe_device(name: str) -> str:
    """A short human label for a device name, e.g. ``cuda:0 (NVIDIA H200)``."""
    if name.startswith("cuda") and torch.cuda.is_available():
        return f"{name} ({torch.cuda.get_device_name(torch.device(name))})"
    return name


def resolve_device(name: str | None) -> torch.device:
    """The ``torch.device`` for a picked name, falling back to CPU if it is not available."""
    if name and name in available_devices():
        return torch.device(name)
    return torch.device("cpu")

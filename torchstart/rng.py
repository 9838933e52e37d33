"""The process-wide random generators, shared by every session, and a training run's own stream through them.

``torch.manual_seed``, ``nn.init`` and ``nn.Dropout`` all use one global generator
per device, and every learner's session runs in the same process. So seeding and
drawing happen under ``RNG_LOCK`` ("same seed, same weights" stays true while
another session builds a model), and a run whose model draws random numbers while
training (Dropout) keeps its own generator state, swapped in around each step.
Its masks then follow from its seed alone, as in the exported script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

# Re-entrant: a seeded build may call a builder that takes the lock again.
RNG_LOCK = threading.RLock()

# Layers that draw from the generator in training mode.
STOCHASTIC_LAYERS: tuple[type[nn.Module], ...] = (nn.modules.dropout._DropoutNd, nn.RReLU)


def draws_random_numbers(model: nn.Module) -> bool:
    """Whether training ``model`` draws from the global generator (Dropout, RReLU)."""
    return any(isinstance(m, STOCHASTIC_LAYERS) for m in model.modules())


def _get_state(device: torch.device) -> torch.Tensor:
    """The generator state that ops on ``device`` draw from."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def _set_state(device: torch.device, state: torch.Tensor) -> None:
    """Restore the generator state that ops on ``device`` draw from."""
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


@dataclass
class RngStream:
    """One run's private position in the random stream of its device."""

    device: torch.device
    state: torch.Tensor

    @classmethod
    def capture(cls, device: torch.device) -> "RngStream":
        """The stream as it stands now (call with ``RNG_LOCK`` held, right after seeding and building)."""
        return cls(device, _get_state(device))

    @contextmanager
    def active(self) -> Iterator[None]:
        """Draw from this stream inside the block, then keep where it got to."""
        with RNG_LOCK:
            _set_state(self.device, self.state)
            try:
                yield
            finally:
                self.state = _get_state(self.device)

"""Every page call that draws from torch's process-wide generator does so under RNG_LOCK (see torchstart.rng).

One learner's page drawing outside the lock moves another learner's seeded build or Dropout stream, so
"same seed, same weights" and the exported script's reproduction would break under concurrent use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

from torchstart.checkpoint_match import infer_linear
from torchstart.device_moves import demonstrate_moves, provoke_mismatch
from torchstart.model_inspect import summarize
from torchstart.model_spec import PRESETS, build_model
from torchstart.rng import RNG_LOCK
from torchstart.training import start_run
from torchstart.training_setup import TrainingConfig

CPU = torch.device("cpu")
SIMPLE = build_model(PRESETS["SimpleModel"], seed=0)


def weights(model: torch.nn.Module) -> torch.Tensor:
    """Every parameter of ``model`` in one flat tensor."""
    return torch.nn.utils.parameters_to_vector(model.parameters())

PAGE_CALLS: dict[str, Callable[[], object]] = {
    "Device: demonstrate_moves": lambda: demonstrate_moves(CPU),
    "Device: provoke_mismatch": lambda: provoke_mismatch(CPU),
    "Checkpoints: infer_linear": lambda: infer_linear({"weight": torch.ones(2, 3), "bias": torch.ones(2)}),
    "Models: summarize (torchinfo)": lambda: summarize(SIMPLE, (2,)),
    "Models: unseeded build_model": lambda: build_model(PRESETS["SimpleModel"]),
    "Models: seeded build_model": lambda: build_model(PRESETS["SimpleModel"], seed=3),
    "Training: start_run (MLP)": lambda: start_run(TrainingConfig(model="mlp")),
}


@pytest.mark.parametrize("call", PAGE_CALLS.values(), ids=PAGE_CALLS.keys())
def test_page_calls_leave_the_shared_generator_alone_while_another_session_holds_it(call) -> None:
    done = threading.Event()
    worker = threading.Thread(target=lambda: (call(), done.set()), daemon=True)
    with RNG_LOCK:  # as a seeded build or a Dropout step in another session does
        before = torch.get_rng_state()
        worker.start()
        done.wait(0.5)  # a call that needs the generator waits here; one that does not may finish
        assert torch.equal(torch.get_rng_state(), before), "drew from the shared generator without RNG_LOCK"
    worker.join(30)
    assert done.is_set()


def test_a_seeded_model_is_the_same_while_another_session_opens_the_device_page() -> None:
    reference = weights(build_model(PRESETS["SimpleModel"], seed=42))
    stop = threading.Event()

    def device_page_visits() -> None:
        while not stop.is_set():
            demonstrate_moves(CPU)

    visitor = threading.Thread(target=device_page_visits, daemon=True)
    visitor.start()
    try:
        builds = [weights(build_model(PRESETS["SimpleModel"], seed=42)) for _ in range(30)]
    finally:
        stop.set()
        visitor.join(10)
    assert all(torch.equal(b, reference) for b in builds)

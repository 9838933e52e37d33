"""The safe-load pipeline: hostile files are refused at the right step, with their own message,
and nothing in them runs; good files load exactly as plain torch.load(weights_only=True) does."""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import random
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Callable

import pytest
import torch
from torch import nn

from torchstart import checkpoint_safety as safety
from torchstart.checkpoint_code import safe_load_code
from torchstart.pickle_scan import MAX_PICKLE_CONTAINERS, MAX_PICKLE_DEPTH, MAX_PICKLE_OPS, pickle_problem


# ---------------------------------------------------------------- hostile and good files

class RunsShell:
    """Pickles as a call to os.system: unpickling it runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class WritesFile:
    """Pickles as a call to open(path, "w"): unpickling it creates the file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def torch_bytes(obj, **kwargs) -> bytes:
    """What torch.save writes for ``obj`` into memory (as the Training page's download does)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def good_state_dict() -> dict[str, torch.Tensor]:
    """A small real state_dict."""
    torch.manual_seed(0)
    return nn.Linear(3, 2).state_dict()


def shell_pth(marker: Path) -> bytes:
    """A valid torch.save zip whose pickle would run ``touch marker`` through os.system."""
    return torch_bytes({"weight": torch.ones(2), "payload": RunsShell(f"touch {marker}")})


def write_pth(marker: Path) -> bytes:
    """A valid torch.save zip whose pickle would create ``marker`` with open()."""
    return torch_bytes({"payload": WritesFile(str(marker))})


def raw_pickle(marker: Path) -> bytes:
    """A bare pickle (no zip) that would run ``touch marker``."""
    return pickle.dumps(RunsShell(f"touch {marker}"))


def stack_global_pth(marker: Path) -> bytes:
    """A torch-shaped zip whose data.pkl uses protocol-4 STACK_GLOBAL to reach os.system."""
    return rezip(torch_bytes({"a": 1}), {"archive/data.pkl": pickle.dumps(RunsShell(f"touch {marker}"),
                                                                          protocol=4)})


def rezip(data: bytes, replace: dict[str, bytes], compression: int = zipfile.ZIP_STORED,
          extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip, swapping some entries' contents and adding others."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", compression) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def zip_bomb(unpacked: int, head: bytes = b"") -> bytes:
    """A torch.save-shaped zip with one deflated entry: ``head``, then ``unpacked`` zero bytes."""
    out = io.BytesIO()
    good = torch_bytes(good_state_dict())
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("archive/data/99", "w") as entry:
            entry.write(head)
            for _ in range(unpacked // (1 << 20)):
                entry.write(bytes(1 << 20))
    return out.getvalue()


def squeezed_pth() -> bytes:
    """An entry squeezed about 160 times: 10 KB of noise in front of 2 MB of zeros (the plain bomb is ~1000x)."""
    return zip_bomb(2 << 20, head=random.Random(0).randbytes(10_000))


def legacy_pth() -> bytes:
    """torch.save in the pre-1.6 non-zip format."""
    return torch_bytes(good_state_dict(), _use_new_zipfile_serialization=False)


def random_bytes() -> bytes:
    """Noise that is not any known format."""
    return random.Random(7).randbytes(4096).replace(b"PK", b"pk")


def plain_zip() -> bytes:
    """A zip archive, but not one torch.save wrote."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("notes/readme.txt", "hello")
    return out.getvalue()


def torchscript_pth() -> bytes:
    """A torch.jit.save archive (it carries code)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # TorchScript is deprecated, which is beside the point here
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(nn.Linear(2, 1)), buffer)
    return buffer.getvalue()


def whole_module_pth() -> bytes:
    """torch.save(model): the whole pickled nn.Module, not a state_dict."""
    return torch_bytes(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))


def expanded_pth() -> bytes:
    """1.5 KB on disk, 10**13 numbers once read: one stored zero expand()ed (stride 0)."""
    return torch_bytes({"weight": torch.zeros(1).expand(10**13)})


def expanded_past_the_walk_pth() -> bytes:
    """3 KB: repeated references use up the page walk's value budget, then an expand()ed x_mean follows."""
    inner = [None] * 320
    return torch_bytes({"model": {"weight": torch.zeros(1, 1), "bias": torch.zeros(1)},
                        "pad": [inner] * 320, "x_mean": torch.zeros(1, dtype=torch.float64).expand(10**10)})


def expanded_too_deep_pth() -> bytes:
    """A state_dict with an expand()ed weight, nested deeper than the page walk opens."""
    deep: object = {"weight": torch.zeros(1, 1).expand(20_000, 50_000)}
    for _ in range(20):
        deep = [deep]
    return torch_bytes(deep)


def deep_key_pkl(depth: int) -> bytes:
    """A pickled dict whose one key is a tuple nested ``depth`` deep: hashing it recurses once per level."""
    return b"\x80\x02}" + b")" + b"\x85" * depth + b"Ns."


def deep_key_pth(depth: int = 200_000) -> bytes:
    """200 KB: torch's unpickler hashes the key while building the dict and overflows the C stack."""
    return rezip(torch_bytes({"a": 1}), {"archive/data.pkl": deep_key_pkl(depth)})


def second_pickle_pth() -> bytes:
    """A real checkpoint with a second archive/data.pkl: the directory check saw the first, torch.load reads the
    last (here 10 MB of empty dicts, unpickled into gigabytes)."""
    with warnings.catch_warnings():  # zipfile warns of the duplicate name, which is the point
        warnings.simplefilter("ignore")
        return rezip(torch_bytes(good_state_dict()), {}, extra={"archive/data.pkl": pickle.dumps({"second": 2})})


def safetensors_bytes() -> bytes:
    """A safetensors file as its format lays it out: the header's length (8 bytes, little-endian), the JSON
    header, then the raw numbers (here two float32 ones)."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return len(header).to_bytes(8, "little") + header + struct.pack("<2f", 1.0, 2.0)


def capitals_pickle_pth() -> bytes:
    """A real checkpoint plus archive/DATA.PKL, a 300,000-deep tuple key: torch.load's reader matches names
    ignoring case and reads the last match, so the benign archive/data.pkl was checked and this one unpickled
    (a segfault of the whole server)."""
    return rezip(torch_bytes({"a": 1}), {}, extra={"archive/DATA.PKL": deep_key_pkl(300_000)})


def many_dicts_pth(count: int = 600_000) -> bytes:
    """600 KB of data.pkl, far under its 8 MB cap, that unpickles into 600,000 dicts."""
    return rezip(torch_bytes({"a": 1}), {"archive/data.pkl": b"\x80\x02](" + b"}" * count + b"e."})


def refilled_chain_pth(depth: int = 2_000) -> bytes:
    """Lists nested ``depth`` deep, built from the inside out by fetching each stored list back (GET) and filling
    it: a scan that remembered each list's depth as stored would read them all as 2 deep."""
    pkl = bytearray(b"\x80\x02]r" + struct.pack("<I", 10**7) + b"]r" + struct.pack("<I", 0) + b"a](")
    for i in range(1, depth):
        pkl += b"j" + struct.pack("<I", i - 1) + b"]r" + struct.pack("<I", i) + b"a"
    return rezip(torch_bytes({"a": 1}), {"archive/data.pkl": bytes(pkl + b"ea.")})


def expanded_in_a_set_pth() -> bytes:
    """An expand()ed float8 tensor inside a set, where no walk over dicts, lists and tuples looked."""
    return torch_bytes({"w": torch.zeros(2), "a": {torch.zeros(1, dtype=torch.float8_e4m3fn).expand(2**36)}})


# (id, builder(marker) -> bytes, refusing step, phrase in the message, names the message must show)
HOSTILE: list[tuple[str, Callable[[Path], bytes], str, str, tuple[str, ...]]] = [
    ("os_system_in_torch_zip", shell_pth, "globals", "outside torch's weights-only allowlist", ("posix.system",)),
    ("file_write_in_torch_zip", write_pth, "globals", "outside torch's weights-only allowlist", ("io.open",)),
    ("stack_global_pickle", stack_global_pth, "globals", "could not be scanned", ()),
    ("raw_pickle", raw_pickle, "zip", "plain Python pickle", ()),
    ("zip_bomb", lambda m: zip_bomb(3 << 20), "zip", "squeezed", ()),
    ("squeezed_160x", lambda m: squeezed_pth(), "zip", "squeezed", ()),
    ("empty", lambda m: b"", "zip", "is empty (0 bytes)", ()),
    ("random_bytes", lambda m: random_bytes(), "zip", "not a PyTorch checkpoint", ()),
    ("legacy_format", lambda m: legacy_pth(), "zip", "old (pre-1.6) format", ()),
    ("safetensors", lambda m: safetensors_bytes(), "zip", "is a safetensors file, not a torch.save checkpoint", ()),
    ("plain_zip", lambda m: plain_zip(), "zip", "not one torch.save wrote", ()),
    ("torchscript", lambda m: torchscript_pth(), "zip", "TorchScript", ()),
    ("expanded_view", lambda m: expanded_pth(), "load", "claim 10,000,000,000,000 numbers", ()),
    ("expanded_past_the_walk", lambda m: expanded_past_the_walk_pth(), "load", "The largest, x_mean", ()),
    ("expanded_too_deep", lambda m: expanded_too_deep_pth(), "load", "claim 1,000,000,000 numbers", ()),
    ("sparse_huge", lambda m: torch_bytes({"weight": torch.sparse_coo_tensor([[0], [0]], [1.0], (10**7, 10**7),
                                                                             check_invariants=True)}),
     "load", "is a sparse_coo tensor of shape [10000000, 10000000]", ()),
    ("millions_of_objects", lambda m: torch_bytes(list(range(2_000_000))), "zip", "data.pkl", ()),
    ("deep_tuple_key", lambda m: deep_key_pth(), "zip", "holds objects nested more than 100 deep", ()),
    ("second_data_pkl", lambda m: second_pickle_pth(), "zip", "more than one zip entry named archive/data.pkl", ()),
    ("data_pkl_in_capitals", lambda m: capitals_pickle_pth(), "zip",
     "entry named archive/DATA.PKL, archive/data.pkl", ()),
    ("many_small_dicts", lambda m: many_dicts_pth(), "zip", "more than 500,000 lists, dicts, tuples", ()),
    ("refilled_chain", lambda m: refilled_chain_pth(), "zip", "holds a container filled after it was stored", ()),
    ("expanded_in_a_set", lambda m: expanded_in_a_set_pth(), "load", "claim 68,719,476,738 numbers", ()),
    ("whole_module", lambda m: whole_module_pth(), "globals", "whole pickled model",
     ("torch.nn.modules.linear.Linear", "torch.nn.modules.activation.ReLU")),
]


@pytest.fixture
def load_spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record every torch.load and globals scan the pipeline makes (still calling the real ones)."""
    calls: dict[str, list] = {"load": [], "scan": []}
    real_load, real_scan = torch.load, torch.serialization.get_unsafe_globals_in_checkpoint

    def spy_load(*args, **kwargs):
        calls["load"].append(kwargs)
        return real_load(*args, **kwargs)

    def spy_scan(*args, **kwargs):
        calls["scan"].append(args)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy_load)
    monkeypatch.setattr(torch.serialization, "get_unsafe_globals_in_checkpoint", spy_scan)
    return calls


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_file_is_refused_at_its_step_and_nothing_runs(case, tmp_path, load_spy) -> None:
    _, build, step, phrase, names = case
    marker = tmp_path / "pwned"
    data = build(marker)
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(data, name="evil.pth")
    assert caught.value.step == step
    assert phrase in str(caught.value)
    for name in names:
        assert name in str(caught.value)
    assert not marker.exists()
    if step == "load":  # the restricted torch.load is safe; reading every value the tensors claim is not
        assert load_spy["load"] == [{"map_location": "cpu", "weights_only": True}]
    else:
        assert load_spy["load"] == []  # refused before torch.load was ever called
    if step == "zip":
        assert load_spy["scan"] == []  # and before the pickle was even scanned


@pytest.mark.parametrize("build", [shell_pth, write_pth, stack_global_pth], ids=["system", "write", "stack"])
def test_the_payloads_are_live(build, tmp_path) -> None:
    """Plain pickle.loads of the same data.pkl would run the payload: the refusals above matter."""
    marker = tmp_path / "proof"
    with zipfile.ZipFile(io.BytesIO(build(marker))) as archive:
        payload = archive.read("archive/data.pkl")

    class NoTensors(pickle.Unpickler):
        def persistent_load(self, pid):  # tensors point at zip records: hand back blank storage
            _, storage_type, _, _, numel = pid
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return torch.storage.TypedStorage(numel, dtype=storage_type.dtype, _internal=True)

    NoTensors(io.BytesIO(payload)).load()
    assert marker.exists()


def test_every_kind_of_file_torch_save_writes_passes_the_scan() -> None:
    """Shared dicts, views, optimizer state, sets, Sizes, dtypes, complex, quantized and sparse tensors, at every
    pickle protocol: nothing torch.save writes is refused as too deep, refilled or a DUP."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    adam = torch.optim.Adam(model.parameters())
    model(torch.zeros(2, 1, 8, 8)).sum().backward()
    adam.step()
    shared, base = {"w": torch.zeros(3)}, torch.arange(6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated, and still in old files
        quantized = torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.qint8)
    files = [model.state_dict(), {"model": model.state_dict(), "optimizer": adam.state_dict(), "epoch": 3},
             {"a": shared, "b": shared, "c": [shared, shared]}, {"t": base, "v": base[2:], "m": base.view(2, 3)},
             {"size": torch.Size([2, 3]), "dtype": torch.float16, "set": {1, 2}, "frozen": frozenset({3}),
              "bytes": b"xy", "complex": 1 + 2j, "big": 2**100, "floats": [0.1] * 1_000, (1, 2): 3},
             {"a": {"b": {"c": [[[[torch.ones(1)]]]]}}}, {"q": quantized, "s": torch.eye(3).to_sparse()}]
    for obj in files:
        for protocol in (2, 3, 4, 5):
            with zipfile.ZipFile(io.BytesIO(torch_bytes(obj, pickle_protocol=protocol))) as archive:
                pickled = archive.read("archive/data.pkl")
            assert pickle_problem(pickled, MAX_PICKLE_DEPTH, MAX_PICKLE_OPS, MAX_PICKLE_CONTAINERS) is None


@pytest.mark.parametrize("pickled, problem", [
    (b"\x80\x02]2a.", "a DUP instruction, which pickle.dump never writes"),  # a list, DUP, APPEND it to itself
    (b"\x80\x02]q\x00h\x00Na.", "a container filled after it was stored"),  # stored, fetched, then filled
    (b"\x80\x02]q\x00h\x00.", None),  # fetching a stored list is fine: shared references do that
    (b"\x80\x02" + b"(" * 3 + b"K\x01t" * 3 + b".", None),  # a tuple in a tuple in a tuple
])
def test_the_scan_refuses_what_pickle_dump_never_writes(pickled: bytes, problem: str | None) -> None:
    assert pickle_problem(pickled, 100, 1_000, 1_000) == problem


def test_the_deep_key_crashes_plain_torch_load(tmp_path) -> None:
    """Without the scan, torch.load(weights_only=True) of a 1 MB file kills the whole Python process."""
    path = tmp_path / "deep.pth"
    path.write_bytes(deep_key_pth(1_000_000))
    done = subprocess.run([sys.executable, "-c", f"import torch; torch.load({str(path)!r}, weights_only=True)"],
                          capture_output=True, timeout=120)
    assert done.returncode < 0  # killed by a signal (SIGSEGV): no exception any page could catch


def test_raw_pickle_payload_is_live(tmp_path) -> None:
    marker = tmp_path / "proof"
    pickle.loads(raw_pickle(marker))
    assert marker.exists()


def test_whole_module_is_told_how_to_resave() -> None:
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(whole_module_pth())
    assert "torch.save(model.state_dict()" in str(caught.value)
    assert caught.value.names == ("torch.nn.modules.activation.ReLU", "torch.nn.modules.container.Sequential",
                                  "torch.nn.modules.linear.Linear")


def test_code_in_a_checkpoint_is_refused_with_a_plain_sentence(tmp_path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(shell_pth(marker), name="evil.pth")
    message = str(caught.value)
    assert message.startswith("evil.pth names Python objects outside torch's weights-only allowlist: "
                              "posix.system. An unrestricted torch.load (weights_only=False) would import and "
                              "call each of them while loading")
    assert "A plain an" not in message and "weights_only off" not in message
    assert not marker.exists()


def test_a_training_checkpoint_with_extras_is_told_how_to_keep_its_weights() -> None:
    # Common in the wild: the run's argparse Namespace saved beside the weights.
    data = torch_bytes({"model": good_state_dict(), "args": argparse.Namespace(lr=0.1)})
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(data, name="run.pth")
    message = str(caught.value)
    assert caught.value.step == "globals" and caught.value.names == ("argparse.Namespace",)
    assert "argparse.Namespace" in message and 'torch.save(checkpoint["model"], ...)' in message
    assert "safe_globals" in message
    # What the message claims: allowlisted for one load, torch's own weights-only loader opens it.
    with torch.serialization.safe_globals([argparse.Namespace]):
        loaded = torch.load(io.BytesIO(data), weights_only=True)
    assert loaded["args"].lr == 0.1


def test_legacy_format_says_how_to_resave() -> None:
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(legacy_pth())
    assert "torch.save(state_dict" in str(caught.value)


def test_size_cap_is_checked_before_reading(load_spy) -> None:
    data = torch_bytes(good_state_dict())

    class Unreadable(io.BytesIO):
        def read(self, *args):  # reading at all would be a failure of the size check
            raise AssertionError("read before the size check")

    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(Unreadable(data), name="big.pth", size=len(data), max_bytes=len(data) - 1)
    assert caught.value.step == "size"
    assert "capped at" in str(caught.value)
    assert load_spy["scan"] == [] and load_spy["load"] == []
    assert safety.safe_load(io.BytesIO(data), size=len(data), max_bytes=len(data)).size == len(data)


def test_size_just_over_the_cap_is_not_shown_equal_to_it() -> None:
    cap = safety.MAX_CHECKPOINT_BYTES
    assert safety.format_bytes(cap + 1) == safety.format_bytes(cap)  # both read "100.0 MB"
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(io.BytesIO(b"x"), name="big.pth", size=cap + 1)
    assert f"big.pth is {cap + 1:,} bytes; checkpoints here are capped at {cap:,} bytes" in str(caught.value)
    assert safety.size_and_cap(3 * 2**20, 2**20) == ("3.0 MB", "1.0 MB")


def test_size_cap_catches_a_lying_declared_size() -> None:
    data = torch_bytes(good_state_dict())
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(io.BytesIO(data), size=10, max_bytes=100)
    assert caught.value.step == "size"


def test_unpacked_total_is_capped_from_the_directory(load_spy) -> None:
    bomb = zip_bomb(2 << 20)
    with pytest.raises(safety.CheckpointRefused) as caught:
        safety.safe_load(bomb, max_bytes=len(bomb))  # 4 x cap is far below 2 MB unpacked
    assert caught.value.step == "zip" and "zip bomb" in str(caught.value)
    assert load_spy["scan"] == []


def test_default_module_cap_can_be_lowered(monkeypatch) -> None:
    data = torch_bytes(good_state_dict())
    monkeypatch.setattr(safety, "MAX_CHECKPOINT_BYTES", len(data) - 1)
    with pytest.raises(safety.CheckpointRefused):
        safety.safe_load(data)


# ---------------------------------------------------------------- good files

def test_state_dict_loads_like_plain_torch(load_spy) -> None:
    state = good_state_dict()
    data = torch_bytes(state)
    loaded = safety.safe_load(data, name="ok.pth")
    assert set(loaded.obj) == set(state)
    for key in state:
        assert torch.equal(loaded.obj[key], state[key])
    assert load_spy["load"] == [{"map_location": "cpu", "weights_only": True}]
    assert loaded.archive == "archive"
    assert loaded.unpacked == sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert list(loaded.findings) == list(safety.STEPS)
    assert loaded.findings["size"].startswith(f"{safety.format_bytes(len(data))} ({len(data):,} bytes), cap ")


def test_tensor_values_are_counted_and_capped_where_they_appear() -> None:
    state = good_state_dict()
    loaded = safety.safe_load(torch_bytes({"model": state, "ema": state}))  # the same tensors twice
    held = 2 * sum(t.numel() for t in state.values())
    assert loaded.findings["load"].endswith(f"holding {held:,} tensor values")
    # Under the cap an expanded view loads (it is a real torch.save); over it, the message says what it is.
    safety.safe_load(torch_bytes({"bias": torch.zeros(1).expand(1000)}))
    with pytest.raises(safety.CheckpointRefused) as refused:
        safety.safe_load(torch_bytes({"w": torch.ones(2, 1).expand(2, 10**8)}))
    message = str(refused.value)
    assert refused.value.step == "load" and "w (shape [2, 100000000], stride [1, 0])" in message
    assert "cap of 200.0 MB (twice the largest file" in message and "stores 8 bytes" in message
    assert safety.max_tensor_bytes(safety.MAX_CHECKPOINT_BYTES) == 200 * 2**20


def test_one_byte_numbers_count_at_their_size_and_a_dense_tensor_is_not_called_a_view() -> None:
    # 60 million int8 weights (a quantized model, 57 MB on disk) were refused as "a view such as expand()":
    # the cap counted numbers as if each took 4 bytes.
    weights = torch.ones(7_500, 8_000, dtype=torch.int8)
    loaded = safety.safe_load(torch_bytes({"weight": weights}))
    assert loaded.findings["load"].endswith("holding 60,000,000 tensor values")
    # Under many keys, one stored tensor is read once per place: refused, and not called an expand()ed view.
    state = {f"w{i}": weights for i in range(4)}  # 4 x 57 MB read from one 57 MB storage
    with pytest.raises(safety.CheckpointRefused) as refused:
        safety.safe_load(torch_bytes(state))
    message = str(refused.value)
    assert "claim 240,000,000 numbers, 228.9 MB at their dtypes' sizes" in message
    assert "is stored whole, but the file refers to its numbers so often" in message and "expand()" not in message


def test_state_dict_bytes_is_torch_save_of_the_state_dict() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    loaded = torch.load(io.BytesIO(safety.state_dict_bytes(model)), weights_only=True)
    assert list(loaded) == list(model.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())
    # The layer versions load_state_dict uses for old-format upgrades travel too, as with torch.save.
    assert loaded._metadata == model.state_dict()._metadata


def test_checkpoint_with_optimizer_state_passes() -> None:
    model = nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(4, 2)).sum().backward()
    opt.step()
    loaded = safety.safe_load(torch_bytes({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                           "epoch": 3}))
    assert loaded.obj["epoch"] == 3
    assert torch.equal(loaded.obj["optimizer"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_whole_model_globals_names_its_classes() -> None:
    assert safety.whole_model_globals(nn.Linear(1, 1)) == ["torch.nn.modules.linear.Linear"]


@pytest.mark.parametrize(("names", "whole"), [
    (["torch.nn.modules.linear.Linear"], True),
    (["__main__.Net", "torch.nn.modules.linear.Linear"], True),
    (["posix.system"], False),
    (["posix.system", "torch.nn.modules.linear.Linear"], False),
    (["__main__.Net"], False),
])
def test_whole_model_classification(names, whole) -> None:
    assert safety.looks_like_whole_model(names) is whole


# ---------------------------------------------------------------- the page's "Show code"

def test_safe_load_code_runs_and_refuses_the_same_files(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = good_state_dict()
    Path("model.pth").write_bytes(torch_bytes({"model": state, "epoch": 1}))
    namespace: dict = {}
    exec(safe_load_code(safety.MAX_CHECKPOINT_BYTES, "model.pth", ("model",)), namespace)
    assert namespace["MAX_BYTES"] == safety.MAX_CHECKPOINT_BYTES
    assert all(torch.equal(namespace["state_dict"][k], v) for k, v in state.items())
    ours = safety.safe_load(Path("model.pth").read_bytes()).obj
    assert torch.equal(ours["model"]["weight"], namespace["checkpoint"]["model"]["weight"])

    safe_load = namespace["safe_load"]
    marker = tmp_path / "pwned"
    assert namespace["MAX_TENSOR_BYTES"] == safety.max_tensor_bytes(safety.MAX_CHECKPOINT_BYTES)
    assert namespace["MAX_PICKLE"] == safety.MAX_PICKLE_BYTES
    code, not_zip, bomb, claims = ("names code we will not unpickle", "is not a torch.save zip archive",
                                   "unpacks too large", "claim more numbers than the file stores")
    sparse, objects = (build(marker) for name, build, *_ in HOSTILE if name in ("sparse_huge", "millions_of_objects"))
    for i, (data, refusal) in enumerate([
            (shell_pth(marker), code), (write_pth(marker), code), (raw_pickle(marker), not_zip),
            (zip_bomb(3 << 20), bomb), (squeezed_pth(), bomb), (b"", not_zip), (legacy_pth(), not_zip),
            (whole_module_pth(), code), (expanded_pth(), claims), (sparse, claims), (objects, "data.pkl is"),
            (deep_key_pth(), "nested more than 100 deep"), (second_pickle_pth(), "not one torch.save wrote"),
            (capitals_pickle_pth(), "not one torch.save wrote"),
            (many_dicts_pth(), "more than 500,000 lists"), (expanded_in_a_set_pth(), claims),
            (refilled_chain_pth(), "filled after it was stored")]):
        Path(f"bad{i}.pth").write_bytes(data)
        with pytest.raises(ValueError, match=refusal):  # each by the snippet's own check, not a later error
            safe_load(f"bad{i}.pth")
    assert not marker.exists()


def test_safe_load_code_caps_the_size_and_loads_weights_only(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("model.pth").write_bytes(torch_bytes(good_state_dict()))
    namespace: dict = {}
    assert Path("model.pth").stat().st_size > 1024
    with pytest.raises(ValueError, match="model.pth is 1,[0-9]{3} bytes; the cap is 1,024"):
        exec(safe_load_code(1024, "model.pth"), namespace)  # our generated code; it loads model.pth at once
    exec(safe_load_code(safety.MAX_CHECKPOINT_BYTES, "model.pth"), namespace)
    calls, real_load = [], torch.load
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: calls.append(kwargs) or real_load(*args, **kwargs))
    namespace["safe_load"]("model.pth")
    assert calls == [{"map_location": "cpu", "weights_only": True}]

"""Save a state_dict as bytes, and load an untrusted ``.pth`` through ordered safety checks.

Loading runs four checks, in this order, and stops at the first that fails:

1. ``size``: the declared size is under the cap, checked before a byte is read;
2. ``zip``: the bytes are a zip archive laid out as ``torch.save`` writes it, and its
   central directory promises no more than a capped total once unpacked (zip-bomb guard);
3. ``globals``: ``torch.serialization.get_unsafe_globals_in_checkpoint`` finds no
   function or class outside torch's weights-only allowlist;
4. ``load``: ``torch.load(..., map_location="cpu", weights_only=True)``, and the tensors it returns
   hold no more than ``max_tensor_bytes`` of numbers: a tensor saved as an expanded view (stride 0) stores one
   number yet claims any size, and reading its values (statistics, a model built from its shape)
   would allocate all of them.

Each refusal is a ``CheckpointRefused`` naming its step, with a message a learner can act on.
Nothing here ever calls ``torch.load`` with ``weights_only=False``.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import torch
from torch import nn

from torchstart.checkpoint_inspect import Path, path_label, walk_values
from torchstart.errors import TorchstartError
from torchstart.pickle_scan import MAX_PICKLE_CONTAINERS, MAX_PICKLE_DEPTH, MAX_PICKLE_OPS, pickle_problem

MAX_CHECKPOINT_BYTES = 100 * 1024 * 1024
# A torch.save zip stores tensors uncompressed, so a real checkpoint unpacks to about its own size.
UNPACKED_FACTOR = 4
MAX_COMPRESSION_RATIO = 100
# Ratios are only judged for entries big enough to matter (tiny text files compress oddly).
RATIO_MIN_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 20_000
# data.pkl holds the object structure (dict keys, shapes, numbers): a few hundred bytes per tensor. Millions of
# pickled Python objects unpickle into gigabytes before any tensor check can run, so it has a cap of its own.
MAX_PICKLE_BYTES = 8 * 1024 * 1024


def max_tensor_bytes(cap: int) -> int:
    """Tensor bytes a loaded file may claim, each number at its dtype's size: two cap-sized files' worth (tied
    weights count twice), so a file of int8 weights may hold four times the numbers of a float32 one."""
    return 2 * cap


STEPS: tuple[str, ...] = ("size", "zip", "globals", "load")
STEP_LABELS: dict[str, str] = {
    "size": "Size under the cap, checked before reading",
    "zip": f"A zip archive as torch.save writes it: no zip bomb, at most {MAX_PICKLE_BYTES // 2**20} MB of pickled "
           f"structure, nested at most {MAX_PICKLE_DEPTH} deep",
    "globals": "No code or classes outside torch's weights-only allowlist",
    "load": 'torch.load(map_location="cpu", weights_only=True), and its tensors within the cap',
}

ZIP_MAGIC = b"PK\x03\x04"
# torch.save's old (pre-1.6) format is a pickle that starts with this magic number.
LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[2:-1]
RESAVE_HINT = 'torch.save(model.state_dict(), "model.pth")'


class CheckpointRefused(TorchstartError):
    """A file the safe loader will not open; ``step`` is the check that refused it."""

    def __init__(self, step: str, message: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.step = step
        self.names = names


@dataclass
class LoadedCheckpoint:
    """What came out of a file that passed every check, and what each check found."""

    name: str
    size: int
    unpacked: int
    entries: int
    archive: str
    obj: Any
    findings: dict[str, str] = field(default_factory=dict)


def format_bytes(count: float) -> str:
    """A byte count as a short human reading (``1.5 MB``)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GB"


def size_and_cap(size: int, cap: int) -> tuple[str, str]:
    """A size and its cap as texts that differ: exact byte counts when both round to the same reading."""
    shown = format_bytes(size), format_bytes(cap)
    return shown if shown[0] != shown[1] else (f"{size:,} bytes", f"{cap:,} bytes")


def checklist(failed: str | None, findings: dict[str, str]) -> list[tuple[str, str]]:
    """(mark, text) per step: ``passed``, ``refused`` at ``failed``, ``not run`` after it."""
    rows, reached = [], False
    for i, step in enumerate(STEPS, 1):
        label = f"{i}. {STEP_LABELS[step]}"
        if step == failed:
            rows.append(("refused", label))
            reached = True
        elif reached:
            rows.append(("not run", label))
        else:
            rows.append(("passed", label + (f": {findings[step]}" if step in findings else "")))
    return rows


def describe_object(obj: Any) -> str:
    """``dict with 3 entries`` / ``a Tensor``: what torch.load handed back, in a few words."""
    kind = type(obj).__name__
    return f"{kind} with {len(obj)} entries" if isinstance(obj, (dict, list, tuple)) else f"a {kind}"


# ---------------------------------------------------------------- saving

def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` with every tensor on the CPU, so the file loads on a machine without that GPU."""
    state = model.state_dict()  # a fresh OrderedDict; its _metadata (layer versions) is kept
    for key, tensor in state.items():
        state[key] = tensor.detach().cpu()
    return state


def saved_bytes(obj: Any) -> bytes:
    """The bytes ``torch.save(obj, f)`` writes: what a .pth download holds."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def state_dict_bytes(model: nn.Module) -> bytes:
    """The bytes ``torch.save(model.state_dict(), f)`` writes, tensors on the CPU."""
    return saved_bytes(cpu_state_dict(model))


def whole_model_globals(model: nn.Module) -> list[str]:
    """Classes a pickled whole model names; each must be importable (and is run) to load it."""
    buffer = io.BytesIO()
    try:
        torch.save(model, buffer)
    except Exception as exc:  # noqa: BLE001 - a local class cannot even be pickled; say so
        raise TorchstartError(f"Saving the whole model fails here: {exc}") from None
    buffer.seek(0)
    return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(buffer))


# ---------------------------------------------------------------- loading

def safe_load(source: BinaryIO | bytes, name: str = "checkpoint.pth", size: int | None = None,
              max_bytes: int | None = None) -> LoadedCheckpoint:
    """Run the four checks on an untrusted checkpoint and return what ``weights_only`` loading gives.

    ``source`` is bytes or a binary file object (a Streamlit ``UploadedFile`` works);
    ``size`` is its declared size (``UploadedFile.size``), checked before anything is read.
    ``max_bytes`` defaults to ``MAX_CHECKPOINT_BYTES``, read at call time so it can be lowered.
    Raises ``CheckpointRefused`` for the first check that fails.
    """
    cap = MAX_CHECKPOINT_BYTES if max_bytes is None else max_bytes
    findings: dict[str, str] = {}
    data = _read_capped(source, name, size, cap)
    # The exact count too: the uploader's chip writes the same file with 1,000 bytes to the KB.
    findings["size"] = f"{format_bytes(len(data))} ({len(data):,} bytes), cap {format_bytes(cap)}"
    archive, unpacked, entries = check_zip_layout(data, name, cap * UNPACKED_FACTOR)
    findings["zip"] = f"{entries} entries under {archive}/, {format_bytes(unpacked)} unpacked"
    check_globals(data, name)
    findings["globals"] = "none outside the allowlist"
    obj = _weights_only_load(data, name)
    numbers = check_unfolded_size(obj, name, len(data), max_tensor_bytes(cap))
    findings["load"] = f"returned {describe_object(obj)} holding {numbers:,} tensor values"
    return LoadedCheckpoint(name=name, size=len(data), unpacked=unpacked, entries=entries,
                            archive=archive, obj=obj, findings=findings)


def _read_capped(source: BinaryIO | bytes, name: str, size: int | None, cap: int) -> bytes:
    """Check the declared size against the cap, then read at most cap + 1 bytes."""
    if size is None:
        size = len(source) if isinstance(source, (bytes, bytearray)) else _stream_size(source)
    if size > cap:
        size_text, cap_text = size_and_cap(size, cap)
        raise CheckpointRefused(
            "size",
            f"{name} is {size_text}; checkpoints here are capped at {cap_text}, "
            "and the size is checked before a single byte is read. Upload a smaller file: a bare "
            f"state_dict ({RESAVE_HINT}) without optimizer state is usually much smaller.")
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source[: cap + 1])
    else:
        source.seek(0)
        data = source.read(cap + 1)
    if len(data) > cap:  # the declared size lied: still refuse
        raise CheckpointRefused("size", f"{name} is larger than the {format_bytes(cap)} cap.")
    return data


def _stream_size(stream: BinaryIO) -> int:
    """Size of a seekable stream, found by seeking to its end (reads nothing)."""
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end


def check_zip_layout(data: bytes, name: str, max_unpacked: int) -> tuple[str, int, int]:
    """Refuse anything but a torch.save zip; return (archive folder, unpacked bytes, entry count).

    The central directory is read, then data.pkl (at most MAX_PICKLE_BYTES) is scanned instruction by
    instruction; no tensor data is decompressed and nothing is unpickled here.
    """
    if not data:
        raise CheckpointRefused(
            "zip", f"{name} is empty (0 bytes), so it is not a PyTorch checkpoint. "
                   f"Save one with {RESAVE_HINT} and upload that file.")
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise CheckpointRefused("zip", _not_zip_message(data, name))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointRefused(
            "zip", f"{name} starts like a zip archive but its directory cannot be read ({exc}). "
                   "It may be truncated: save and download it again.") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise CheckpointRefused(
            "zip", f"{name} holds {len(infos):,} zip entries; the limit is {MAX_ZIP_ENTRIES:,}. "
                   "A torch.save checkpoint has one entry per tensor storage plus a handful of fixed ones (data.pkl, "
                   "version, byteorder, …).")
    folders = {info.filename.split("/", 1)[0] for info in infos}
    folder = next(iter(folders)) if len(folders) == 1 else ""
    names = {info.filename for info in infos}
    # torch.load's reader finds a name case-insensitively and takes its last copy, so "archive/DATA.PKL" after
    # archive/data.pkl is what it unpickles, while zipfile (and the scans below) read the exact name.
    folded = Counter(info.filename.lower() for info in infos)
    if len(folded) < len(infos):
        twice = sorted({info.filename for info in infos if folded[info.filename.lower()] > 1})
        raise CheckpointRefused(
            "zip", f"{name} holds more than one zip entry named {_sample(twice)} (torch.load does not tell capitals "
                   "from small letters in these names). torch.save writes each name once. With two, torch.load "
                   "reads the last one, while Python's zipfile reads the exact name, so a check and torch.load "
                   "could see different files. Save the checkpoint again with torch.save.")
    if not folder or f"{folder}/data.pkl" not in names:
        raise CheckpointRefused(
            "zip", f"{name} is a zip archive, but not one torch.save wrote: torch.save puts everything "
                   "in one folder with a data.pkl inside (e.g. archive/data.pkl), and this file "
                   f"has {_sample(sorted(names))}. Upload a file written by torch.save.")
    pickled = next(info.file_size for info in infos if info.filename == f"{folder}/data.pkl")
    if pickled > MAX_PICKLE_BYTES:
        raise CheckpointRefused(
            "zip", f"{name}'s data.pkl, the object structure torch.save pickles beside the tensor data, is "
                   f"{format_bytes(pickled)}; the limit is {format_bytes(MAX_PICKLE_BYTES)}. A state_dict "
                   "needs a few hundred bytes per tensor; millions of pickled Python objects (long lists of "
                   "numbers, say) would take gigabytes to unpickle. Keep numbers in tensors, or save the "
                   f"weights alone with {RESAVE_HINT}.")
    if f"{folder}/constants.pkl" in names:
        raise CheckpointRefused(
            "zip", f"{name} is a TorchScript archive (torch.jit.save), which carries code. Here we "
                   f"read torch.save checkpoints only: save the weights with {RESAVE_HINT}.")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > max_unpacked:
        raise CheckpointRefused(
            "zip", f"{name} would unpack to {format_bytes(unpacked)} from {format_bytes(len(data))}; "
                   f"the limit is {format_bytes(max_unpacked)}. That is how a zip bomb looks, so "
                   "nothing in it was unpacked. torch.save stores tensors uncompressed, so a real "
                   "checkpoint unpacks to about its own size.")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise CheckpointRefused(
                "zip", f"{name} has an entry, {info.filename}, squeezed {ratio:,.0f}x "
                       f"({format_bytes(info.compress_size)} -> {format_bytes(info.file_size)}); "
                       f"we refuse ratios over {MAX_COMPRESSION_RATIO}x as a zip-bomb guard and "
                       "unpacked nothing. torch.save does not compress tensors.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # data.pkl is at most MAX_PICKLE_BYTES, checked above
        problem = pickle_problem(archive.read(f"{folder}/data.pkl"), MAX_PICKLE_DEPTH, MAX_PICKLE_OPS,
                                 MAX_PICKLE_CONTAINERS)
    if problem:
        raise CheckpointRefused(
            "zip", f"{name}'s data.pkl, the object structure torch.save pickles beside the tensor data, holds "
                   f"{problem}. A state_dict nests a few levels deep and takes a few dozen instructions per tensor; "
                   "unpickling this could exhaust the server's memory or crash it, so nothing was unpickled. "
                   f"Save the weights alone with {RESAVE_HINT}.")
    return folder, unpacked, len(infos)


def _not_zip_message(data: bytes, name: str) -> str:
    """Why a non-zip file is refused: old torch format, a plain pickle, or something else."""
    if LEGACY_MAGIC in data[:32]:
        return (f"{name} is in PyTorch's old (pre-1.6) format, a bare pickle rather than the zip "
                "archive torch.save has written by default since PyTorch 1.6. We only open the zip "
                "format. If you trust the file, re-save it in your own Python: "
                'state_dict = torch.load(path, weights_only=True); torch.save(state_dict, "model.pth").')
    if data.startswith(ZIP_MAGIC):  # a zip's directory is its last part: without it the file was cut short
        return (f"{name} starts like the zip archive torch.save writes but its end is missing (the zip "
                "directory, which comes last, is not there), so the file is truncated: an interrupted "
                "download or copy. Save or download it again and upload the whole file.")
    if len(data) > 10 and data[8:10] == b'{"' and int.from_bytes(data[:8], "little") <= len(data) - 8:
        # safetensors: an 8-byte little-endian header length, then that header as JSON, then raw tensor bytes
        return (f"{name} is a safetensors file, not a torch.save checkpoint; this page reads torch.save's zip "
                "archives. In your own Python, convert it: from safetensors.torch import load_file; "
                'torch.save(load_file(path), "model.pth"), then upload model.pth.')
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return (f"{name} is a plain Python pickle, not a torch.save zip archive. Unpickling a plain "
                "pickle can run any code it names, so we never open one. Save tensors with "
                f"{RESAVE_HINT} instead.")
    return (f"{name} is not a PyTorch checkpoint: it does not start like the zip archive torch.save "
            f"writes (its first bytes are {data[:4].hex(' ')}, a zip starts with 50 4b 03 04). "
            f"Upload a file saved with {RESAVE_HINT}.")


def _sample(items: list[str], limit: int = 4) -> str:
    """A short listing of names for a message."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "") if items else "nothing"


def check_globals(data: bytes, name: str) -> None:
    """Refuse a checkpoint whose pickle names anything outside torch's weights-only allowlist."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a pickle we cannot scan is a pickle we do not load
        raise CheckpointRefused(
            "globals", f"{name}'s data.pkl could not be scanned ({type(exc).__name__}: {exc}). It uses "
                       "pickle instructions that torch.save does not write, and a file we cannot "
                       f"check is a file we do not open. Re-save it with {RESAVE_HINT}.") from None
    if not unsafe:
        return
    names = tuple(sorted(unsafe))
    listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    if looks_like_whole_model(names):
        raise CheckpointRefused(
            "globals", f"{name} is a whole pickled model, not a state_dict: it names the classes "
                       f"{listed}. Unpickling it needs that exact class code importable and runs it, "
                       "so weights_only loading refuses it. Re-save only the weights where the model "
                       f"is defined: {RESAVE_HINT}, and rebuild the model in code before loading.",
            names)
    raise CheckpointRefused(
        "globals", f"{name} names Python objects outside torch's weights-only allowlist: {listed}. An "
                   "unrestricted torch.load (weights_only=False) would import and call each of them while "
                   "loading, and a name can be anything (posix.system runs a shell command), so this page "
                   "loads none. Training checkpoints often carry such extras (a NumPy random state, an argparse "
                   "Namespace). If the file is from a source you trust, open it there and re-save just the "
                   f"weights, {RESAVE_HINT} (or torch.save(checkpoint[\"model\"], ...)); in your own code, "
                   "torch.serialization.safe_globals([...]) allowlists classes you trust for one load.", names)


def looks_like_whole_model(names: tuple[str, ...] | list[str]) -> bool:
    """True when the unsafe names are nn.Module classes (plus other classes), not functions."""
    modules = [n for n in names if n.startswith("torch.nn.")]
    others = [n for n in names if not n.startswith("torch.nn.")]
    # A class name is capitalised by convention; functions such as posix.system are not.
    return bool(modules) and all(n.rsplit(".", 1)[-1][:1].isupper() for n in others)


def every_tensor(obj: Any) -> Iterator[tuple[Path, torch.Tensor]]:
    """Each distinct tensor object in ``obj`` once, with a path to it: no depth or value budget.

    The page's own walk (``walk_values``) stops after MAX_NODES values, so a few bytes of repeated
    references ahead of a tensor would hide it from a count made over that walk, while code that
    reads the file's keys directly (saved statistics, a state_dict's weights) still reaches it.
    Every container is opened once, so repeated references cost nothing and the work is bounded
    by the objects the (size-capped) pickle holds.
    """
    opened: set[int] = set()
    counted: set[int] = set()
    stack: list[tuple[Path, Any]] = [((), obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, torch.Tensor):
            if id(value) not in counted:
                counted.add(id(value))
                yield path, value
        elif isinstance(value, (Mapping, list, tuple, set, frozenset)) and id(value) not in opened:
            opened.add(id(value))
            # A dict's keys and a set's members may be tensors too (torch's allowlist takes both): counted too.
            # (String and number keys, nearly all of them, cannot hold one: not pushed, so the walk stays one pass.)
            items = ([*value.items(), *(("(a key)", key) for key in value if not isinstance(key, (str, int, float)))]
                     if isinstance(value, Mapping) else enumerate(value))
            stack.extend((path + (key,), child) for key, child in reversed(list(items)))


def check_unfolded_size(obj: Any, name: str, size: int, limit: int) -> int:
    """How many numbers the tensors hold, read element by element; refuse more than ``limit`` bytes of them.

    Two counts, each held to ``limit``: per place a tensor appears over the values the page's own walk
    visits (each place is read on its own for statistics), and every distinct tensor in the whole file
    (whatever the walk leaves out can still be read by key). Each number counts at its dtype's size.
    """
    shown = [(path, value) for path, value in walk_values(obj) if isinstance(value, torch.Tensor)]
    totals = []
    for tensors in (shown, every_tensor(obj)):
        numbers, claimed, biggest = 0, 0, None
        for path, value in tensors:
            # Sparse and meta tensors too: an nn.Linear inferred from one allocates its whole dense shape.
            numbers += value.numel()
            claimed += dense_bytes(value)
            if biggest is None or dense_bytes(value) > dense_bytes(biggest[1]):
                biggest = (path, value)
        if claimed > limit:
            _refuse_unfolded(name, size, limit, numbers, claimed, *biggest)
        totals.append(numbers)
    return max(totals)


def dense_bytes(tensor: torch.Tensor) -> int:
    """The bytes a tensor's numbers take once read: numel times its dtype's size, whatever it stores."""
    return tensor.numel() * tensor.element_size()


def _refuse_unfolded(name: str, size: int, limit: int, numbers: int, claimed: int, path: Path,
                     tensor: torch.Tensor) -> None:
    """Refuse a file whose tensors claim more than ``limit`` bytes of numbers, naming the largest and what it is."""
    start = (f"{name} loaded, but its tensors claim {numbers:,} numbers, {format_bytes(claimed)} at their dtypes' "
             f"sizes, from {format_bytes(size)} on disk: over this page's cap of {format_bytes(limit)} (twice the "
             f"largest file it takes, so tied weights may count twice). The largest, {path_label(path)}")
    if tensor.layout != torch.strided or tensor.is_meta:
        kind = ("a meta tensor (a shape, no data)" if tensor.is_meta else
                f"a {str(tensor.layout).removeprefix('torch.')} tensor")
        raise CheckpointRefused(
            "load", start + f", is {kind} of shape {list(tensor.shape)}: it stores few numbers but stands for "
                            f"{tensor.numel():,}, and a dense model built from its shape would allocate them all. "
                            "Save dense weights: torch.save({k: v.to_dense() for k, v in state_dict.items()}, "
                            "\"model.pth\").")
    stored = tensor.untyped_storage().nbytes()
    if stored < dense_bytes(tensor):
        raise CheckpointRefused(
            "load", start + f" (shape {list(tensor.shape)}, stride {list(tensor.stride())}), claims "
                            f"{tensor.numel():,} numbers but stores {format_bytes(stored)}: "
                            "a view such as expand() repeats stored numbers with stride 0, and reading every value "
                            "(statistics, a model built from its shape) would allocate them all. If the file is yours, "
                            "save real copies: "
                            "torch.save({k: v.contiguous() for k, v in state_dict.items()}, \"model.pth\").")
    raise CheckpointRefused(
        "load", start + f" (shape {list(tensor.shape)}), is stored whole, but the file refers to its numbers so "
                        "often (one tensor under many keys, or many views of one storage) that reading each place, "
                        "as the statistics do, would read that much. If the file is yours, save each tensor once.")


def _weights_only_load(data: bytes, name: str) -> Any:
    """The final step: torch's restricted unpickler, onto the CPU."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every failure here is a refusal, never a traceback
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointRefused(
            "load", f"torch.load(weights_only=True) refused {name}: {first_line[:300]}. "
                    f"Re-save the file with {RESAVE_HINT}.") from None

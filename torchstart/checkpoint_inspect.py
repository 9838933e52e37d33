"""Look inside a loaded checkpoint: every tensor with its statistics, totals, the nested structure,
and which part of it is a model's state_dict.

A *path* is the tuple of keys that leads from the loaded object to a value, e.g.
``("model", "fc.weight")`` for ``checkpoint["model"]["fc.weight"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator

import pandas as pd
import torch

from torchstart.wording import running_counts

Path = tuple[Any, ...]

MAX_DEPTH = 12
MAX_TENSORS = 20_000
# Values one walk visits, and containers one outline expands: a pickle can hold one list 8 times, that
# list 8 times, ... so a 2 KB file nests billions of paths within MAX_DEPTH.
MAX_NODES = 100_000
MAX_OUTLINE_NODES = 2_000
TREE_ITEMS = 40
# Dicts named like these hold a model's weights in the usual checkpoint layouts.
MODEL_PART_NAMES = ("model", "state_dict", "model_state_dict", "model_state", "net", "module", "weights")


@dataclass(frozen=True)
class TensorEntry:
    """One tensor in the checkpoint and where it sits."""

    path: Path
    tensor: torch.Tensor

    @property
    def key(self) -> str:
        """The path as one label: ``model/fc.weight``."""
        return path_label(self.path)


@dataclass(frozen=True)
class Totals:
    """Counts over every tensor in the file."""

    tensors: int
    numel: int
    bytes: int


def path_label(path: Path) -> str:
    """A path as ``a/b/c`` (``(whole file)`` for the empty path)."""
    return "/".join(key_label(part) for part in path) if path else "(whole file)"


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with repeats told apart (``a/b``, ``a/b (2)``).

    Keys "a/b" and "a" → "b" read alike as paths, and so do 0 and "0".
    """
    return [label if k == 1 else f"{label} ({k})" for label, k in zip(labels, running_counts(labels))]


def path_code(path: Path, name: str = "checkpoint") -> str:
    """A path as Python indexing: ``checkpoint["model"]``."""
    return name + "".join(f"[{part!r}]" for part in path)


def get_part(obj: Any, path: Path) -> Any:
    """The value at ``path`` inside ``obj``."""
    for part in path:
        obj = obj[part]
    return obj


def _children(obj: Any) -> Iterator[tuple[Any, Any]]:
    """(key, value) pairs of a dict, list or tuple; nothing for other values."""
    if isinstance(obj, Mapping):
        yield from obj.items()
    elif isinstance(obj, (list, tuple)):
        yield from enumerate(obj)


def walk_values(obj: Any, path: Path = (), seen: frozenset[int] = frozenset(), budget: list[int] | None = None,
          cut: set[str] | None = None) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) below ``obj``, the first MAX_NODES of them; guards depth and self-referencing containers.

    ``cut`` collects which guard stopped the walk early: "depth" or "values".
    """
    budget = [MAX_NODES] if budget is None else budget
    cut = set() if cut is None else cut
    if budget[0] <= 0:
        cut.add("values")
        return
    budget[0] -= 1
    yield path, obj
    if id(obj) in seen or not isinstance(obj, (Mapping, list, tuple)):
        return
    if len(path) >= MAX_DEPTH:
        if len(obj):
            cut.add("depth")
        return
    inner = seen | {id(obj)}
    for key, value in _children(obj):
        yield from walk_values(value, path + (key,), inner, budget, cut)


def tensor_entries(obj: Any, limit: int = MAX_TENSORS, cut: set[str] | None = None) -> list[TensorEntry]:
    """Every tensor in the loaded object, in file order, up to ``limit``; ``cut`` collects the limits reached."""
    found: list[TensorEntry] = []
    cut = set() if cut is None else cut
    for path, value in walk_values(obj, cut=cut):
        if isinstance(value, torch.Tensor):
            found.append(TensorEntry(path, value))
            if len(found) >= limit:
                cut.add("tensors")
                break
    return found


def cut_note(cut: set[str]) -> str | None:
    """Why the tensor list may be incomplete, for the limits the walk reached (None when it saw everything)."""
    reasons = {"depth": f"containers nested more than {MAX_DEPTH} levels deep were not opened",
               "values": f"only the first {MAX_NODES:,} values were looked at",
               "tensors": f"only the first {MAX_TENSORS:,} tensors are listed"}
    shown = [reasons[k] for k in ("depth", "values", "tensors") if k in cut]
    return ("Not every tensor in this file is counted here: " + "; ".join(shown) + ".") if shown else None


def has_stats(tensor: torch.Tensor) -> bool:
    """False where mean/std/min/max do not apply: sparse, complex, empty or meta (a shape, no values) tensors,
    and packed or raw-bit dtypes that hold no one number per element (float4_e2m1fn_x2, bits8)."""
    return not (tensor.layout != torch.strided or tensor.is_complex() or tensor.numel() == 0 or tensor.is_meta
                or not (tensor.is_quantized or reads_as_numbers(tensor.dtype)))


_NUMBER_DTYPES: dict[torch.dtype, bool] = {}


def reads_as_numbers(dtype: torch.dtype) -> bool:
    """Whether PyTorch converts ``dtype`` to float64 (quantized dtypes aside: they dequantize); not FP4 pairs
    packed in a byte or raw bits. Asked of PyTorch once per dtype."""
    if dtype not in _NUMBER_DTYPES:
        try:
            torch.zeros(1, dtype=dtype).to(torch.float64)
            _NUMBER_DTYPES[dtype] = True
        except (RuntimeError, NotImplementedError, TypeError):
            _NUMBER_DTYPES[dtype] = False
    return _NUMBER_DTYPES[dtype]


def tensor_stats(tensor: torch.Tensor) -> dict[str, float]:
    """Mean, std (unbiased, as torch.std), min and max in float64; NaN where undefined.

    Two passes over float64 pieces (the mean, then squared distances from it), as torch.std
    computes it, without a float64 copy of the whole tensor.
    """
    nan = {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    if not has_stats(tensor):
        return nan
    n, total, has_nan = tensor.numel(), 0.0, False
    low, high = math.inf, -math.inf
    for piece in value_pieces(tensor):
        total += piece.sum().item()
        low, high = min(low, piece.min().item()), max(high, piece.max().item())
        has_nan = has_nan or bool(piece.isnan().any())
    mean = total / n
    if has_nan:
        low = high = math.nan  # as torch.min/max: any nan makes them nan
    squares = sum(((piece - mean) ** 2).sum().item() for piece in value_pieces(tensor)) if n > 1 else math.nan
    return {"mean": mean, "std": math.sqrt(squares / (n - 1)) if n > 1 else math.nan, "min": low, "max": high}


# Values are read in float64 pieces of this many: a 52-million-value (or expand()ed) tensor never doubles in memory.
PIECE = 1 << 20


def value_pieces(tensor: torch.Tensor) -> Iterator[torch.Tensor]:
    """A dense real tensor's values, flat, in float64 pieces of at most ``PIECE``, in order.

    A quantized tensor gives the numbers it stands for. A non-contiguous view (a stepped slice,
    an expand()ed tensor) is cut along its leading dimensions, so no piece copies more than ``PIECE``.
    """
    tensor = tensor.detach()
    if tensor.is_quantized:  # qint8 and friends: integers plus a scale; .to(float64) refuses them
        tensor = tensor.dequantize()
    if tensor.is_contiguous() or tensor.numel() <= PIECE:
        flat = tensor.reshape(-1)  # a view, or a copy of at most PIECE values
        for start in range(0, flat.numel(), PIECE):
            yield flat[start:start + PIECE].to(torch.float64)
    elif tensor.shape[0] == 1:
        yield from value_pieces(tensor[0])
    else:
        rows = max(1, PIECE // tensor[0].numel())
        for start in range(0, tensor.shape[0], rows):
            yield from value_pieces(tensor[start:start + rows])


def entry_table(entries: list[TensorEntry]) -> pd.DataFrame:
    """One row per tensor: key, shape, dtype, numel, bytes, mean/std/min/max."""
    rows = []
    for entry in entries:
        t = entry.tensor
        rows.append({
            "key": entry.key,
            "shape": str(list(t.shape)),
            "dtype": str(t.dtype).removeprefix("torch."),
            "numel": t.numel(),
            "bytes": stored_bytes(t),
            **tensor_stats(t),
        })
    columns = ["key", "shape", "dtype", "numel", "bytes", "mean", "std", "min", "max"]
    return pd.DataFrame(rows, columns=columns)


def stored_bytes(tensor: torch.Tensor) -> int:
    """The bytes a tensor holds: numel times its dtype's size when dense; a sparse one's indices and stored values
    (a 1000 x 1000 matrix of 3 values is not 4 MB); none for a meta tensor (a shape without data)."""
    if tensor.is_meta:
        return 0
    parts = {torch.sparse_coo: ("_indices", "_values"), torch.sparse_csr: ("crow_indices", "col_indices", "values"),
             torch.sparse_bsr: ("crow_indices", "col_indices", "values"),
             torch.sparse_csc: ("ccol_indices", "row_indices", "values"),
             torch.sparse_bsc: ("ccol_indices", "row_indices", "values")}.get(tensor.layout)
    if parts is None:
        return tensor.numel() * tensor.element_size()
    return sum(getattr(tensor, part)().numel() * getattr(tensor, part)().element_size() for part in parts)


def totals(entries: list[TensorEntry]) -> Totals:
    """How many tensors, numbers and bytes the file holds."""
    return Totals(tensors=len(entries), numel=sum(e.tensor.numel() for e in entries),
                  bytes=sum(stored_bytes(e.tensor) for e in entries))


def summarize_tree(obj: Any, depth: int = 0, seen: frozenset[int] = frozenset(),
                   budget: list[int] | None = None) -> Any:
    """A JSON-ready outline of the object: tensors as ``tensor float32 [2, 3]``, long containers cut."""
    budget = [MAX_OUTLINE_NODES] if budget is None else budget
    if isinstance(obj, torch.Tensor):
        return f"tensor {str(obj.dtype).removeprefix('torch.')} {list(obj.shape)}"
    if isinstance(obj, (Mapping, list, tuple)):
        if depth >= MAX_DEPTH or id(obj) in seen or budget[0] <= 0:
            return f"{type(obj).__name__} (not expanded)"
        budget[0] -= 1
        inner = seen | {id(obj)}
        items = list(_children(obj))
        outline = {key_label(k): summarize_tree(v, depth + 1, inner, budget) for k, v in items[:TREE_ITEMS]}
        if len(items) > TREE_ITEMS:
            outline["…"] = f"{len(items) - TREE_ITEMS} more"
        return outline if isinstance(obj, Mapping) else list(outline.values())
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, str):
        return obj if len(obj) <= 80 else obj[:77] + "..."
    if isinstance(obj, (torch.dtype, torch.device, torch.Size, complex)):
        return f"{type(obj).__name__}: {str(obj)[:60]}"
    # Never str() the rest: a set's str prints each tensor in it, and printing a float8 tensor converts all of
    # it (an expand()ed one of 2**36 numbers allocated 137 GB).
    return f"{type(obj).__name__} of {len(obj):,}" if isinstance(obj, (set, frozenset)) else type(obj).__name__


def key_label(key: Any) -> str:
    """A dict key as the outline and paths show it: itself when a string or number, else its type (``tuple``)."""
    if isinstance(key, (str, int, float)) or key is None:
        return str(key)
    return f"({type(key).__name__})"


def is_state_dict(obj: Any) -> bool:
    """A dict of string keys to tensors, with at least one tensor: what ``load_state_dict`` takes."""
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()))


def state_dict_parts(obj: Any) -> list[Path]:
    """Paths of every state_dict-shaped dict in the object, the likeliest model part first."""
    # Each distinct dict judged and listed once: 100,000 references to one big dict took minutes when each
    # reference re-checked all its entries (and gave 100,000 identical choices).
    judged: dict[int, bool] = {}
    parts = []
    for path, value in walk_values(obj):
        if isinstance(value, Mapping) and id(value) not in judged:
            judged[id(value)] = is_state_dict(value)
            if judged[id(value)]:
                parts.append(path)

    def rank(path: Path) -> tuple[int, int]:
        names = [str(p).lower() for p in path]
        if not path:
            group = 0
        elif any(n in MODEL_PART_NAMES for n in names):
            group = 1
        elif not any("optim" in n for n in names):
            group = 2
        else:  # optimizer state: per-parameter buffers, not a model
            group = 3
        return group, -len(get_part(obj, path))

    return sorted(parts, key=rank)

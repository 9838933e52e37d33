"""The PyTorch code behind the Checkpoints page: save a state_dict, load one safely, predict with it."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from torchstart.checkpoint_inspect import Path, path_code
from torchstart.checkpoint_safety import MAX_COMPRESSION_RATIO, MAX_PICKLE_BYTES, RATIO_MIN_BYTES, UNPACKED_FACTOR
from torchstart.pickle_scan import MAX_PICKLE_CONTAINERS, MAX_PICKLE_DEPTH, MAX_PICKLE_OPS, pickle_problem

# The page's own scan, printed as it is: the snippet refuses exactly what the page refuses.
PICKLE_SCAN_CODE = inspect.getsource(pickle_problem).strip()
from torchstart.session import Standardizer


def module_code(module: nn.Module, indent: int = 0) -> str | None:
    """Python that rebuilds ``module`` from torch.nn layers, or None for a custom class."""
    cls = type(module)
    if not cls.__module__.startswith("torch.nn.modules"):
        return None
    children = list(module.named_children())
    if isinstance(module, nn.Sequential):
        pad = " " * (indent + 4)
        parts = []
        positional = all(name == str(i) for i, (name, _) in enumerate(children))
        for name, child in children:
            inner = module_code(child, indent + 4)
            if inner is None:
                return None
            parts.append(f"{pad}{inner}," if positional else f"{pad}({name!r}, {inner}),")
        body = "\n".join(parts)
        if positional:
            return f"nn.Sequential(\n{body}\n{' ' * indent})"
        return f"nn.Sequential(OrderedDict([\n{body}\n{' ' * indent}]))"
    if children:
        return None  # a torch container other than Sequential: not rebuilt here
    return f"nn.{cls.__name__}({module.extra_repr()})"


def model_definition(module: nn.Module, fallback: str = "") -> str:
    """``model = ...`` lines for the code panels, falling back to the Models page's code or a note."""
    code = module_code(module)
    if code is not None:
        imports = "from collections import OrderedDict\n" if "OrderedDict(" in code else ""
        return f"{imports}model = {code}"
    if fallback:
        # The panels import torch and nn at their top already; the Models page's code starts with the same two.
        body = "\n".join(line for line in fallback.strip().splitlines()
                         if line not in ("import torch", "from torch import nn")).strip()
        return f"# The model, as the Models page builds it:\n{body}"
    return (f"# {type(module).__name__} is a custom class: define it here exactly as when it was trained,\n"
            f"# then build it:  model = {type(module).__name__}(...)")


def save_code(module: nn.Module, seed: int | None = None, fallback: str = "",
              filename: str = "model.pth") -> str:
    """Build (seeded when fresh) a model and save its state_dict; the whole-model way for contrast."""
    seed_line = f"torch.manual_seed({seed})  # the same initial weights as on the page\n" if seed is not None else ""
    # Fresh weights are what this code makes: a trained model's come from training it first.
    trained_note = "" if seed is not None else ("# ...train it first: the Training page's Show code is the whole run,\n"
                                                 "# ending with this same save\n")
    return (
        "import torch\nfrom torch import nn\n\n"
        f"{seed_line}{model_definition(module, fallback)}\n{trained_note}\n"
        "# Save only the weights: an ordered dict of name -> tensor (parameters and persistent buffers).\n"
        f"torch.save(model.state_dict(), {filename!r})\n\n"
        "# Not this: torch.save(model, path) pickles the class by its import path,\n"
        "# so loading needs that exact code and weights_only=True refuses the file.\n"
    )


def safe_load_code(max_bytes: int, filename: str = "model.pth", part: Path = ()) -> str:
    """A stand-alone ``safe_load`` with the page's four checks, then picking the model part."""
    pick = f"\nstate_dict = {path_code(part)}" if part else "\nstate_dict = checkpoint"
    cap = f"{max_bytes // 2**20} * 1024 * 1024" if max_bytes % 2**20 == 0 else str(max_bytes)
    return f'''import io
import os
import pickletools
import zipfile

import torch

MAX_BYTES = {cap}  # refuse bigger files before reading them
MAX_UNPACKED = {UNPACKED_FACTOR} * MAX_BYTES  # zip-bomb guard: torch.save does not compress
MAX_TENSOR_BYTES = 2 * MAX_BYTES  # two cap-sized files' worth of numbers, each at its dtype's size
MAX_PICKLE = {MAX_PICKLE_BYTES // 2**20} * 1024 * 1024  # the object structure: a few hundred bytes per tensor
MAX_DEPTH, MAX_OPS, MAX_CONTAINERS = {MAX_PICKLE_DEPTH}, {MAX_PICKLE_OPS:_}, {MAX_PICKLE_CONTAINERS:_}


def safe_load(path):
    """Load a torch.save checkpoint from an untrusted source, refusing anything risky."""
    # 1. size, before reading
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise ValueError(f"{{path}} is {{size:,}} bytes; the cap is {{MAX_BYTES:,}}")
    with open(path, "rb") as f:
        data = f.read()
    # 2. a zip as torch.save writes it, judged from its directory only
    if not data.startswith(b"PK\\x03\\x04") or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(f"{{path}} is not a torch.save zip archive")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    folders = {{info.filename.split("/", 1)[0] for info in infos}}
    pickles = [i for i in infos if len(folders) == 1 and i.filename == f"{{next(iter(folders))}}/data.pkl"]
    # torch.load finds a name ignoring case and reads its last copy: archive/DATA.PKL would replace data.pkl
    if not pickles or len({{info.filename.lower() for info in infos}}) < len(infos):
        raise ValueError(f"{{path}} is a zip, but not one torch.save wrote")
    if pickles[0].file_size > MAX_PICKLE:
        raise ValueError(f"{{path}}'s data.pkl is {{pickles[0].file_size:,}} bytes: millions of pickled objects")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        problem = pickle_problem(archive.read(pickles[0]), MAX_DEPTH, MAX_OPS, MAX_CONTAINERS)
    if problem:  # e.g. a tuple key nested 200,000 deep: hashing it while unpickling crashes Python
        raise ValueError(f"{{path}}'s data.pkl holds {{problem}}")
    if sum(info.file_size for info in infos) > MAX_UNPACKED or any(
        info.file_size >= {RATIO_MIN_BYTES} and info.file_size > {MAX_COMPRESSION_RATIO} * info.compress_size
        for info in infos
    ):
        raise ValueError(f"{{path}} unpacks too large: a zip bomb")
    # 3. no function or class outside torch's weights-only allowlist
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    if unsafe:
        raise ValueError(f"{{path}} names code we will not unpickle: {{sorted(unsafe)}}")
    # 4. the restricted unpickler, onto the CPU; then no more values than real files hold, since
    #    an expand()ed tensor stores one number yet claims any size, allocated once it is read
    checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if sum(t.numel() * t.element_size() for t in tensors_in(checkpoint)) > MAX_TENSOR_BYTES:
        raise ValueError(f"{{path}}'s tensors claim more numbers than the file stores (expanded views)")
    return checkpoint


def tensors_in(obj, seen=None):
    """Every tensor inside nested dicts (keys too), lists, tuples and sets, each container visited once."""
    seen = set() if seen is None else seen
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (dict, list, tuple, set, frozenset)) and id(obj) not in seen:
        seen.add(id(obj))
        for value in ([*obj.values(), *obj] if isinstance(obj, dict) else obj):
            yield from tensors_in(value, seen)


{PICKLE_SCAN_CODE}


checkpoint = safe_load({filename!r}){pick}
'''


def _tensor_literal(values: torch.Tensor) -> str:
    """A float tensor as ``torch.tensor([...])`` that rebuilds it exactly (float32 via float64 repr)."""
    return f"torch.tensor({values.tolist()!r})"


def predict_code(module: nn.Module, inputs: torch.Tensor, part: Path = (), fallback: str = "",
                 x_scaler: Standardizer | None = None, y_scaler: Standardizer | None = None,
                 filename: str = "model.pth", task: str = "regression", scalers_in_file: bool = False) -> str:
    """Rebuild the model, load the file strictly, switch to eval mode and predict on the inputs.

    ``scalers_in_file``: the standardization is read from beside the model part (``checkpoint["x_mean"]``, …),
    as the Training page saves it, rather than written out as numbers.
    """
    holder = path_code(part[:-1])

    def stats(var: str, scaler: Standardizer) -> str:
        if scalers_in_file:
            return f'{holder}["{var}_mean"].float(), {holder}["{var}_std"].float()  # saved beside the weights'
        return f"{_tensor_literal(scaler.mean)}, {_tensor_literal(scaler.std)}"

    lines = ["import torch", "from torch import nn", "", model_definition(module, fallback), "",
             f"checkpoint = torch.load({filename!r}, map_location=\"cpu\", weights_only=True)"
             "  # after safe_load's checks",
             f"model.load_state_dict({path_code(part)}, strict=True)",
             "model.eval()  # Dropout off, BatchNorm uses running stats: inference behaviour", "",
             f"x = {_tensor_literal(inputs)}"]
    if x_scaler is not None:
        lines += [f"x_mean, x_std = {stats('x', x_scaler)}",
                  "x = (x - x_mean) / x_std  # the Training page's standardization"]
    lines += ["with torch.no_grad():", "    y = model(x)"]
    if y_scaler is not None:
        lines += [f"y_mean, y_std = {stats('y', y_scaler)}",
                  "y = y * y_std + y_mean  # back to the target's units"]
    lines.append("print(y)")
    if task == "classes":
        lines += ["probabilities = torch.softmax(y, dim=1)  # trained with CrossEntropyLoss: one logit per class",
                  "predicted_class = y.argmax(1)  # the class with the largest logit (and probability)",
                  "print(probabilities, predicted_class)"]
    elif task == "binary":
        lines += ["probability = torch.sigmoid(y)  # trained with BCEWithLogitsLoss: y holds logits",
                  "predicted_class = (y >= 0).long()  # class 1 where the probability is >= 0.5",
                  "print(probability, predicted_class)"]
    return "\n".join(lines) + "\n"


""""Show code" for the Data page: the PyTorch code that rebuilds the dataset and runs the loader shown.

Every generator here mirrors one computation in ``data_prep``, ``builtin_datasets``
or ``batch_viewer`` step for step; tests execute the printed code and compare
its tensors with the page's.
"""

from __future__ import annotations

from typing import Any

from torchstart.batch_viewer import LoaderSettings, batch_formula
from torchstart.builtin_datasets import FIRST_INPUTS, FIRST_TARGETS, checked_values
from torchstart.csv_loading import CsvFormat
from torchstart.data_prep import DROP_ROWS, ONE_HOT, SAMPLE_SEED, PrepChoices
from torchstart.synthetic import DIGIT_GLYPHS, THREE_CLASS_CORNERS, THREE_CLASSES

CUSTOM_DATASET = '''\
class CustomDataset(Dataset):
    """Rows of features and targets as float32 tensors: what DataLoader batches."""

    def __init__(self, features: torch.Tensor, targets: torch.Tensor):
        self.features = features
        self.targets = targets

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        return self.features[index], self.targets[index]
'''

FIRST_EXAMPLE = f'''\
import torch
from torch.utils.data import Dataset


class CustomDataset(Dataset):
    """The hand-written dataset from the first tutorials: 3 rows, 2 inputs, 1 target."""

    def __init__(self):
        self.inputs = torch.tensor({FIRST_INPUTS})
        self.targets = torch.tensor({FIRST_TARGETS})

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        return self.inputs[index], self.targets[index]


dataset = CustomDataset()
print(len(dataset), dataset[0])  # 3 (tensor([1., 2.]), tensor([3.]))
'''

HEADER = "import torch\nfrom torch.utils.data import Dataset\n\n\n" + CUSTOM_DATASET + "\n\n"


# Beyond this many features, print(dataset[0]) would fill the screen with numbers.
PRINTED_FEATURES = 60


def _print_first(width: int) -> str:
    """The line that prints the dataset's length and first sample (its shape and start when the rows are wide)."""
    if width <= PRINTED_FEATURES:
        return "print(len(dataset), dataset[0])"
    return "x0, y0 = dataset[0]\nprint(len(dataset), x0.shape, x0[:10], y0)  # all of x0 would be a wall of numbers"


def _shown_classes(classes: list[str], codes: bool) -> str:
    """The classes as ``y.columns`` holds them: whole numbers for class codes (get_dummies of int64), else text."""
    return repr([int(float(c)) for c in classes]) if codes else repr(classes)


def _glyph_rows(glyph: str) -> str:
    """A glyph's 35 dots as seven adjacent 5-dot strings, which Python joins into one."""
    return " ".join(f'"{glyph[i:i + 5]}"' for i in range(0, len(glyph), 5))


def builtin_code(key: str, values: dict[str, Any] | None = None) -> str:
    """Code that builds built-in dataset ``key`` with ``values`` exactly as the page does."""
    if key == "first":
        return FIRST_EXAMPLE
    v = checked_values(key, values or {})
    lines = [f"generator = torch.Generator().manual_seed({v['seed']})"]
    if key == "line":
        lines += [f"x = torch.rand({v['n']}, 1, generator=generator) * 10 - 5  # uniform in [-5, 5]",
                  f"y = {v['slope']!r} * x + {v['intercept']!r} + {v['noise']!r} * torch.randn({v['n']}, 1, "
                  "generator=generator)",
                  "dataset = CustomDataset(x, y)"]
    elif key == "multi":
        k = v["n_features"]
        lines += [f"true_w = torch.randint(-3, 4, ({k}, 1), generator=generator).float()",
                  "true_b = torch.randint(-2, 3, (1,), generator=generator).float()",
                  f"x = torch.randn({v['n']}, {k}, generator=generator)",
                  f"y = x @ true_w + true_b + {v['noise']!r} * torch.randn({v['n']}, 1, generator=generator)",
                  "dataset = CustomDataset(x, y)"]
    elif key == "three_class":
        lines += [f"labels = torch.randint(0, 3, ({v['n']},), generator=generator)  # class 0, 1 or 2: "
                  f"{', '.join(THREE_CLASSES)}",
                  f"centres = torch.tensor({THREE_CLASS_CORNERS!r}) * ({v['separation']!r} / 2)  # one per class",
                  f"x = centres[labels] + torch.randn({v['n']}, 2, generator=generator)",
                  "y = torch.nn.functional.one_hot(labels, 3).float()  # rows of class probabilities: "
                  "nn.CrossEntropyLoss takes them",
                  "dataset = CustomDataset(x, y)"]
    elif key == "digits":
        lines = ["# A 5×7 dot font, row by row (\"1\" = ink), for the digits 0 to 9",
                 "GLYPHS = [", *[f"    {_glyph_rows(g)},  # {d}" for d, g in enumerate(DIGIT_GLYPHS)], "]", "", *lines,
                 "glyphs = torch.tensor([[float(dot) for dot in g] for g in GLYPHS]).view(10, 7, 5)",
                 "glyphs = glyphs.repeat_interleave(3, dim=1).repeat_interleave(3, dim=2)  # each dot -> 3×3 "
                 "pixels: 21×15",
                 f"labels = torch.randint(0, 10, ({v['n']},), generator=generator)",
                 f"top = torch.randint(0, 8, ({v['n']},), generator=generator)  # where each digit sits in 28×28",
                 f"left = torch.randint(0, 14, ({v['n']},), generator=generator)",
                 f"brightness = 0.5 + 0.5 * torch.rand({v['n']}, generator=generator)",
                 f"images = torch.zeros({v['n']}, 28, 28)",
                 f"for i in range({v['n']}):",
                 "    images[i, top[i]:top[i] + 21, left[i]:left[i] + 15] = brightness[i] * glyphs[labels[i]]",
                 f"images = (images + {v['noise']!r} * torch.randn({v['n']}, 28, 28, generator=generator)).clamp(0, 1)",
                 f"x = images.view({v['n']}, 784)  # one row of 784 pixels per image, as an MNIST CSV holds them",
                 "y = torch.nn.functional.one_hot(labels, 10).float()  # rows of class probabilities: "
                 "nn.CrossEntropyLoss takes them",
                 "dataset = CustomDataset(x, y)"]
    elif key == "two_class":
        lines += [f"labels = (torch.rand({v['n']}, 1, generator=generator) < 0.5).float()  # class 0 or 1",
                  f"centres = (labels * 2 - 1) * ({v['separation']!r} / 2)",
                  f"x = centres + torch.randn({v['n']}, 2, generator=generator)",
                  "dataset = CustomDataset(x, labels)"]
    else:
        raise KeyError(f"unknown built-in dataset {key!r}")
    width = v["n_features"] if key == "multi" else 784 if key == "digits" else 2
    return HEADER + "\n".join(lines) + "\n" + _print_first(width) + "\n"


def csv_code(file_name: str, fmt: CsvFormat, choices: PrepChoices, numeric: list[str], text: list[str],
             classes: list[str] | None = None, rows_in: int | None = None, class_codes: bool = False) -> str:
    """Code that reads the CSV and builds the dataset with the learner's column choices.

    ``numeric`` and ``text`` are the chosen feature columns (target excluded) by kind,
    as ``PrepResult.numeric_features`` and ``.text_features`` give them; ``classes`` is
    ``PrepResult.classes``: a text target's classes (one-hot targets), empty for a number.
    ``rows_in`` is the table's row count: with ``choices.rows`` below it, the code samples as the page did.
    ``class_codes``: the classes are a number target's whole numbers (``PrepResult.classes_from_numbers``).
    """
    features = [c for c in dict.fromkeys(choices.features) if c in numeric or c in text]
    kwargs = ", ".join(f"{k}={v!r}" for k, v in fmt.read_csv_kwargs().items())
    lines = [f"frame = pd.read_csv({file_name!r}, {kwargs})"]
    for column in fmt.grouped:  # read_csv's thousands= would also turn dates like 01.02.2024 into numbers
        digits = f"frame[{column!r}].str.replace({fmt.thousands!r}, '', regex=False)"
        if fmt.decimal != ".":
            digits += f".str.replace({fmt.decimal!r}, '.', regex=False)"
        lines += [f"digits = {digits}  # {fmt.thousands!r} groups thousands in {column!r}",
                  f"frame[{column!r}] = pd.to_numeric(digits)"]
    lines.append(f"frame = frame[{[*features, choices.target]!r}]")
    if rows_in is not None and choices.rows is not None and choices.rows < rows_in:
        lines.append(f"frame = frame.sample(n={choices.rows}, random_state={SAMPLE_SEED}).sort_index()  "
                     f"# a random {choices.rows:,} of the {rows_in:,} rows, in file order")
    lines.append(f"frame = frame.dropna(subset=[{choices.target!r}])  # a row without a target cannot be learned from")
    if choices.missing == DROP_ROWS:
        lines.append("frame = frame.dropna()  # drop rows with a missing feature")
    lines.append(f"x = frame[{features!r}]")
    if choices.missing != DROP_ROWS and numeric:
        lines.append(f"x = x.fillna(x[{numeric!r}].mean())  # fill gaps with each column's mean")
    if text and choices.non_numeric == ONE_HOT:
        gaps = "; a missing value gets 0 in all of them" if choices.missing != DROP_ROWS else ""
        lines.append(f"x = pd.get_dummies(x, columns={text!r}, dtype='float32')  # one column per text value{gaps}")
    elif text:
        lines.append(f"x = x.drop(columns={text!r})  # text columns left out")
    if classes:
        more = f" and {len(classes) - 10} more" if len(classes) > 10 else ""
        labels = f"frame[{choices.target!r}]" + (".astype('int64')" if class_codes else "")
        what = "whole number (class code)" if class_codes else "class"
        lines += [f"y = pd.get_dummies({labels}, dtype='float32')  # one column per {what}, sorted",
                  f"classes = list(y.columns)  # {_shown_classes(classes[:10], class_codes)}{more}: y.argmax(1) "
                  "is the class index",
                  "y = torch.tensor(y.to_numpy(dtype=np.float32))  # rows of class probabilities, one of the two "
                  "target forms nn.CrossEntropyLoss takes"]
    else:
        lines.append(f"y = torch.tensor(frame[[{choices.target!r}]].to_numpy(dtype=np.float32))")
    lines += ["dataset = CustomDataset(torch.tensor(x.to_numpy(dtype=np.float32)), y)",
              _print_first(len(features))]
    imports = "import numpy as np\nimport pandas as pd\nimport torch\nfrom torch.utils.data import Dataset\n\n\n"
    return imports + CUSTOM_DATASET + "\n\n" + "\n".join(lines) + "\n"


def loader_code(settings: LoaderSettings, n_samples: int) -> str:
    """Code for the DataLoader with the viewer's settings and the loop up to the viewed epoch."""
    s = settings
    return f'''\
from torch.utils.data import DataLoader

generator = torch.Generator().manual_seed({s.seed})  # seeded once, before the first epoch
loader = DataLoader(dataset, batch_size={s.batch_size}, shuffle={s.shuffle}, drop_last={s.drop_last},
                    generator=generator)
print(len(loader), "batches per epoch")  # {batch_formula(n_samples, s.batch_size, s.drop_last)}

viewed = []  # the batches of epoch {s.epoch}, as the page lists them
for epoch in range({s.epoch + 1}):
    for batch_number, (x_batch, y_batch) in enumerate(loader):
        # a training step: optimizer.zero_grad(); loss_fn(model(x_batch), y_batch).backward(); optimizer.step()
        if epoch == {s.epoch}:
            viewed.append((x_batch, y_batch))
            print(f"epoch {{epoch}} batch {{batch_number}}: x {{tuple(x_batch.shape)}}, y {{tuple(y_batch.shape)}}")
'''

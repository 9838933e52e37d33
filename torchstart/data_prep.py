"""A DataFrame -> a float32 ``TabularDataset``: column profile, feature/target choice, encoding, missing values.

A text target (iris' "species") becomes one-hot class columns: rows of class
probabilities, which ``nn.CrossEntropyLoss`` takes as its target.

The steps here are the same pandas calls that ``torchstart.data_code`` prints in
"Show code", in the same order, so the printed code rebuilds identical tensors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from pandas.api.types import infer_dtype, is_bool_dtype, is_integer_dtype, is_numeric_dtype

from torchstart.csv_loading import DECIMAL_COMMA, MAX_COLUMNS, WHOLE_NUMBER
from torchstart.datasets import TabularDataset, one_hot_target_names
from torchstart.errors import TorchstartError
from torchstart.wording import name_list, plural

ONE_HOT, DROP = "one-hot", "drop"
DROP_ROWS, MEAN_FILL = "drop rows", "fill with mean"
NON_NUMERIC_CHOICES = (ONE_HOT, DROP)
MISSING_CHOICES = (DROP_ROWS, MEAN_FILL)
MAX_CATEGORIES = 100  # distinct values one text column may one-hot encode into
MAX_CLASSES = 50  # distinct values a text target may hold: one output column (and one logit) per class
# Numbers one-hot encoding may make (400 MB as float32): about what the largest all-numeric upload holds.
MAX_FEATURE_CELLS = 100_000_000
MAX_DEFAULT_CLASSES = 20  # a last text column with 2..this many values looks like a label column
# ``frame.sample(n=..., random_state=SAMPLE_SEED)``: the same rows on the page and in the printed code.
SAMPLE_SEED = 0
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class PrepChoices:
    """What the learner picked: features, the target, and how to treat text and gaps."""

    features: tuple[str, ...]
    target: str
    non_numeric: str = ONE_HOT
    missing: str = DROP_ROWS
    rows: int | None = None  # use a seeded random sample of this many rows (kept in file order); None: all
    class_codes: bool = False  # a number target's whole numbers are class labels (species 0, 1, 2): one-hot it


@dataclass
class PrepResult:
    """The dataset plus what each choice kept or removed, for the learner to read."""

    dataset: TabularDataset
    rows_in: int
    rows_kept: int
    rows_missing_target: int
    rows_missing_features: int
    numeric_features: list[str] = field(default_factory=list)  # chosen features that are numbers, in order
    text_features: list[str] = field(default_factory=list)  # chosen features that hold text, in order
    encoded: dict[str, list[str]] = field(default_factory=dict)  # text column -> its one-hot columns
    dropped_features: list[str] = field(default_factory=list)  # text columns left out
    filled: dict[str, float] = field(default_factory=dict)  # column -> mean used for its gaps
    target: str = ""  # the chosen target column
    classes: list[str] = field(default_factory=list)  # a text target's classes, in target-column order; else empty
    rows_sampled: int | None = None  # rows in the random sample ``PrepChoices.rows`` asked for; None: every row
    classes_not_sampled: list[str] = field(default_factory=list)  # classes of the file with no row in the sample
    classes_from_numbers: bool = False  # the classes are a number target's whole numbers (PrepChoices.class_codes)
    # Text feature column -> its gaps, which one-hot encoding (with "fill with mean") turns into all-zero rows.
    text_gaps: dict[str, int] = field(default_factory=dict)
    true_false: list[str] = field(default_factory=list)  # chosen columns of true/false, read as 1.0/0.0
    filled_gaps: dict[str, int] = field(default_factory=dict)  # column -> how many of its cells got the mean


def column_kind(series: pd.Series) -> str:
    """``number``, ``true/false`` or ``text`` (anything else that is not a number)."""
    if is_bool_dtype(series.dtype):
        return "true/false"
    return "number" if is_numeric_dtype(series.dtype) else "text"


def profile_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: dtype, kind, missing count, distinct values, and mean/std/min/max for numbers."""
    rows = []
    for name in frame.columns:
        col = frame[name]
        kind = column_kind(col)
        row = {"column": str(name), "dtype": str(col.dtype), "kind": kind, "missing": int(col.isna().sum()),
               "distinct": int(col.nunique()), "mean": np.nan, "std": np.nan, "min": np.nan, "max": np.nan}
        if kind != "text":
            values = col.astype("float64")
            with np.errstate(invalid="ignore", over="ignore"):  # inf in a column: its std is nan, as shown
                row.update(mean=values.mean(), std=values.std(), min=values.min(), max=values.max())
        rows.append(row)
    return pd.DataFrame(rows)


# A text column whose values are at least this share numbers is a number column with a few stray cells.
MOSTLY_NUMBERS = 0.5
STRAY_EXAMPLES = 3


@dataclass(frozen=True)
class StrayText:
    """A column read as text only because some of its cells are not numbers ("x", "10%", "1,000")."""

    column: str
    numbers: int  # cells that read as numbers
    values: int  # cells that are not missing
    examples: tuple[tuple[object, str], ...]  # (row label in the table, cell text) of the first few others
    symbols: str = ""  # set when the numbers are written with currency or percent signs ("$1,200", "45%")

    def message(self) -> str:
        """What the learner reads: which cells made the column text, and how to get the numbers back."""
        shown = ", ".join(f"{text[:20]!r} (row {row})" for row, text in self.examples)
        if self.symbols:
            return (f"Column '{self.column}' holds numbers written with {sign_names(self.symbols)}, e.g. {shown}: "
                    "pandas reads such a column as text, so it is left out of the default features, and as a target "
                    f"its values would be class names. {REMOVE_SIGNS}")
        others = self.values - self.numbers
        more = f" and {others - len(self.examples):,} more" if others > len(self.examples) else ""
        return (f"Column '{self.column}' is read as text although {self.numbers:,} of its {self.values:,} values "
                f"are numbers: {others:,} {'is' if others == 1 else 'are'} not, e.g. {shown}{more}. pandas gives a "
                "column one dtype, so one such cell turns the whole column into text: as a feature it is left out "
                "by default (or one-hot encoded), as a target its values would be class names. Fix those cells in "
                "the file (an empty cell counts as missing) and upload again.")


def reads_as_number(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Which cells are numbers as the file writes them: ``1.5``, or ``1,5`` where the decimal sign is a comma."""
    text = values.astype(str)
    if decimal == ",":  # pd.to_numeric knows only the point, and such a file's "1.5" is no number to it either
        return text.str.fullmatch(DECIMAL_COMMA) | text.str.fullmatch(WHOLE_NUMBER)
    return pd.to_numeric(text, errors="coerce").notna()


# Currency and percent signs: "$105,391.00" and "45%" are numbers to a person, text to pandas.
NUMBER_SIGNS = "$€£¥%"
REMOVE_SIGNS = ("Remove the signs from the file (in a spreadsheet, format the column as a plain number) and upload "
                "again.")


def sign_names(signs: str) -> str:
    """``"$,"`` -> ``'$' and ','``."""
    return " and ".join(f"'{c}'" for c in signs)


def signed_numbers(values: pd.Series, decimal: str = ".") -> str:
    """The currency/percent signs (and grouping mark) a column's numbers are written with; "" when it is no such
    column: most values must be numbers once those are removed, and some must carry a sign."""
    text = values.astype(str)
    signed = text.str.contains(f"[{re.escape(NUMBER_SIGNS)}]")
    if not signed.any():
        return ""
    grouping = "." if decimal == "," else ","
    bare = text.str.replace(f"[{re.escape(NUMBER_SIGNS)}\\s]", "", regex=True).str.replace(grouping, "", regex=False)
    if reads_as_number(bare, decimal).mean() < MOSTLY_NUMBERS:
        return ""
    found = "".join(c for c in NUMBER_SIGNS if text.str.contains(c, regex=False).any())
    return found + (grouping if text.str.contains(grouping, regex=False).any() else "")


def stray_text_columns(frame: pd.DataFrame, decimal: str = ".") -> list[StrayText]:
    """Text columns that are mostly numbers: the few cells that are not are probably typos or units; and numbers
    written with currency or percent signs."""
    found = []
    for name in frame.columns:
        col = frame[name]
        if column_kind(col) != "text":
            continue
        present = col.dropna()
        sample = present.head(1000)
        head = reads_as_number(sample, decimal)
        if head.sum() < MOSTLY_NUMBERS * len(head):  # plainly a text column: no need to read it all
            symbols = signed_numbers(sample, decimal)
            if symbols:
                examples = sample[~head].head(STRAY_EXAMPLES)
                found.append(StrayText(str(name), int(head.sum()), len(present),
                                       tuple((row, str(text)) for row, text in examples.items()), symbols))
            continue
        as_numbers = reads_as_number(present, decimal)
        numbers = int(as_numbers.sum())
        if numbers == 0 or numbers == len(present) or numbers < MOSTLY_NUMBERS * len(present):
            continue
        stray = present[~as_numbers].head(STRAY_EXAMPLES)
        found.append(StrayText(str(name), numbers, len(present),
                               tuple((row, str(text)) for row, text in stray.items())))
    return found


def default_choices(frame: pd.DataFrame, decimal: str = ".") -> PrepChoices:
    """A label column as target if the table ends with one, else the last numeric column whose values vary.

    A last text column with 2..MAX_DEFAULT_CLASSES distinct values (iris' "species") is a
    class label: it becomes the target and the numeric columns the features. Otherwise
    columns with no value at all (an empty trailing "notes" column) are left out: as a
    target they would keep no row, as a feature they would drop every row. Text columns
    that look like categories (a few values, each repeated, filled on nearly every row)
    join the features, one-hot encoded; names and ids, different on every row, do not.
    """
    numeric = [c for c in frame.columns if column_kind(frame[c]) != "text"]
    numeric = [c for c in numeric if frame[c].notna().any() and not is_row_label(frame[c])] or numeric
    last = frame.columns[-1]
    if (column_kind(frame[last]) == "text" and numeric and 2 <= frame[last].nunique() <= MAX_DEFAULT_CLASSES
            and not written_numbers(frame[last], decimal)):
        return _with_categories(frame, PrepChoices(tuple(numeric), last), decimal)
    named = _named_label(frame, numeric)
    if named is not None:
        return _with_categories(frame, named, decimal)
    # scan from the end and stop at the first column that varies: one min/max pass on a big table
    target = next((c for c in reversed(numeric) if frame[c].min() != frame[c].max()), numeric[-1])
    features = tuple(c for c in numeric if c != target)
    # A single numeric column leaves the text columns that look like categories; names, dates and ids, one value
    # per row, are not offered: one-hot encoded, each row would get a column of its own to memorise.
    return _with_categories(frame, PrepChoices(features, target), decimal)


def is_saved_index(column: pd.Series) -> bool:
    """An unnamed column of row numbers 0, 1, 2, ... (or 1, 2, 3, ...): the index ``DataFrame.to_csv()`` writes
    unless told ``index=False``. As a feature it would teach the model each row's position in the file."""
    if not re.fullmatch(r"Unnamed: \d+", str(column.name)) or not is_integer_dtype(column.dtype) or column.empty:
        return False
    start = int(column.iloc[0])
    return start in (0, 1) and bool((column.to_numpy() == np.arange(start, start + len(column))).all())


def is_id_column(column: pd.Series) -> bool:
    """A column named like an id ("id", "customer_id", "CustomerID", "index") holding a different whole number on
    every row: a label for the row, not a measurement of it."""
    name = str(column.name).strip()
    # "customer id", "CustomerID", "row_index"; not "Body Mass Index" or "ID-Length", which measure something.
    named = (re.fullmatch(r"(?i)(?:.*[^a-z0-9])?(?:id|uuid)|(?:row[ _-]?)?(?:index|idx)", name)
             or re.fullmatch(r".*[a-z]I[Dd]", name))
    return bool(named) and is_integer_dtype(column.dtype) and column.is_unique and len(column) > 1


def is_row_label(column: pd.Series) -> bool:
    """A saved index or an id column: left out of the default features."""
    return is_saved_index(column) or is_id_column(column)


def left_out_notes(frame: pd.DataFrame) -> list[str]:
    """Why each saved-index or id column (``is_row_label``) is not among the default features."""
    notes = []
    for c in frame.columns:
        if is_saved_index(frame[c]):
            start = int(frame[c].iloc[0])
            notes.append(f"Column '{c}' holds the row numbers {start}, {start + 1}, ...: the index "
                         "`DataFrame.to_csv()` writes unless told `index=False`. It is left out of the default "
                         "features, since as one it would teach the model where each row sits in the file; add it "
                         "below if you want it.")
        elif is_id_column(frame[c]):
            notes.append(f"Column '{c}' looks like an identifier: named like an id, with a different whole number "
                         "on every row. It is left out of the default features, since a model would learn the ids "
                         "of the training rows rather than anything that carries over to new rows; add it below if "
                         "its numbers mean something.")
    return notes


def _is_categorical(column: pd.Series) -> bool:
    """2 to MAX_DEFAULT_CLASSES distinct values, each on two rows or more on average: a category (colour,
    neighbourhood), not a name or an id that is different on every row."""
    values = column.dropna()
    distinct = values.nunique()
    return 2 <= distinct <= MAX_DEFAULT_CLASSES and 2 * distinct <= len(values)


# A default feature may leave this share of its cells empty: with "drop rows" each gap costs a row, and
# House Prices' Alley (20 values in 200 rows) as a feature left none.
MAX_DEFAULT_GAPS = 0.05


def _is_default_category(column: pd.Series, decimal: str = ".") -> bool:
    """A text column worth one-hot encoding by default: a category filled on nearly every row, and not a number
    column that a stray cell ("n/a", "10%") made text (the page points at those cells instead)."""
    filled = column.notna().mean() if len(column) else 0.0
    return filled >= 1 - MAX_DEFAULT_GAPS and not written_numbers(column, decimal) and _is_categorical(column)


def written_numbers(column: pd.Series, decimal: str = ".") -> bool:
    """A text column of numbers that a few stray cells or currency/percent signs made text: no category."""
    present = column.dropna().head(1000)
    return bool(len(present)) and bool(reads_as_number(present, decimal).mean() >= MOSTLY_NUMBERS
                                       or signed_numbers(present, decimal))


def _with_categories(frame: pd.DataFrame, choices: PrepChoices, decimal: str = ".") -> PrepChoices:
    """``choices`` plus the text columns that look like categories, in file order: the page one-hot encodes them."""
    text = {c for c in frame.columns
            if c != choices.target and column_kind(frame[c]) == "text" and _is_default_category(frame[c], decimal)}
    if not text:
        return choices
    return replace(choices, features=tuple(c for c in frame.columns if c in text or c in choices.features))


# A column named so is what the file means to predict, wherever it sits (MNIST CSVs start with "label").
LABEL_NAMES = ("label", "labels", "class", "target")


def _named_label(frame: pd.DataFrame, numeric: list[str]) -> PrepChoices | None:
    """The first column named label/class/target that holds classes (or, for numbers, any values) as the target.

    Text: 2 to MAX_DEFAULT_CLASSES values, each on two rows or more on average (names, one per row, are no
    classes). Numbers: the target, their whole-number codes as classes when there are 3 or more such codes.
    None when no named column qualifies: the usual rule picks the target.
    """
    for named in (c for c in frame.columns if str(c).strip().lower() in LABEL_NAMES):
        values = frame[named].dropna()
        features = tuple(c for c in numeric if c != named)
        if values.empty or not features:
            continue
        counts = values.value_counts()
        few = 2 * len(counts) <= len(values)
        if column_kind(frame[named]) == "text":
            if _is_categorical(frame[named]):
                return PrepChoices(features, named)
            continue
        # Three or more codes: a 0/1 label stays one column, which BCEWithLogitsLoss takes as it is.
        codes = bool((values == values.round()).all()) and 3 <= len(counts) <= MAX_DEFAULT_CLASSES and few
        return PrepChoices(features, named, class_codes=codes)
    return None


def prepare(frame: pd.DataFrame, choices: PrepChoices, name: str = "dataset") -> PrepResult:
    """Build the float32 dataset for ``choices``; refuse bad choices with a message saying what to pick.

    With ``choices.rows``, a seeded random sample of that many rows is taken first.
    Rows with a missing target are always dropped (a mean target is not a label);
    rows with missing features are dropped or filled with the column mean, over
    the rows that remain. A text target then becomes one float column per class
    (sorted), a numeric or true/false target one float column.
    """
    target, features = check_choices(frame, choices)
    work = frame[[*features, target]]
    rows_in = len(work)
    sampled = sample_rows(work, choices.rows)
    if sampled is not None:
        work = sampled
    rows_considered = len(work)
    of_rows = f"{rows_considered:,}{' sampled' if sampled is not None else ''} rows"
    gaps = work.isna().any()  # per column; dropna is skipped when there is nothing to drop (same result)
    if gaps[target]:
        work = work.dropna(subset=[target])
    rows_missing_target = rows_considered - len(work)
    if len(work) < 2:  # the target's own gaps did it: filling features cannot help
        raise TorchstartError(f"Only {len(work)} of {of_rows} have a value in the target column "
                              f"{target!r}; a dataset needs at least two. Choose a target column that is "
                              "filled in.")
    rows_before = len(work)
    filled: dict[str, float] = {}
    if choices.missing == DROP_ROWS and gaps.any():
        work = work.dropna()
    rows_missing_features = rows_before - len(work)
    check_rows_left(work, of_rows)
    labels = is_class_target(work[target])
    codes = not labels and choices.class_codes and column_kind(work[target]) == "number"
    if codes:
        check_whole_numbers(work[target], target)
        labels = True
    if labels:
        check_classes(work[target], target)
    else:
        check_target_values(work[target], target)

    numeric = [c for c in features if column_kind(frame[c]) != "text"]
    text = [c for c in features if c not in numeric]
    gap_counts: dict[str, int] = {}
    if choices.missing == MEAN_FILL:
        filled = {c: float(work[c].mean()) for c in numeric if work[c].isna().any()}
        gap_counts = {c: int(work[c].isna().sum()) for c in filled}
        empty = [c for c, mean in filled.items() if mean != mean]
        if empty:
            raise TorchstartError(f"Feature column(s) {', '.join(map(repr, empty))} have no values at all, so "
                                  "there is no mean to fill with. Leave them out of the features.")
        check_fill_means(filled, work)
    x_frame = work[features]
    if filled:
        x_frame = x_frame.fillna(filled)
    encoded: dict[str, list[str]] = {}
    dropped: list[str] = []
    text_gaps: dict[str, int] = {}
    if text and choices.non_numeric == ONE_HOT:
        widths = check_one_hot_width(x_frame, numeric, text)
        # Only "fill with mean" leaves gaps here: get_dummies gives such a row a 0 in every column of its text.
        text_gaps = {c: int(n) for c, n in x_frame[text].isna().sum().items() if n}
        x_frame = pd.get_dummies(x_frame, columns=text, dtype="float32")
        check_unique_features(x_frame, text)
        # get_dummies keeps the other columns first, then each text column's dummies in order.
        new_columns, start = list(x_frame.columns[len(numeric):]), 0
        for col, width in zip(text, widths):
            encoded[col] = [str(c) for c in new_columns[start:start + width]]
            start += width
    elif text:
        x_frame = x_frame.drop(columns=text)
        dropped = text
    if x_frame.shape[1] == 0:
        raise TorchstartError("No feature columns are left: every chosen feature holds text and text columns are "
                              "set to be dropped. Choose a numeric feature, or one-hot encode the text columns.")
    x = float32_tensor(x_frame)
    check_finite(x, list(x_frame.columns), work.index)
    classes: list[str] = []
    if labels:
        # get_dummies sorts the classes (as the printed code's does): column i is class i, probability 1.0
        y_frame = pd.get_dummies(work[target].astype("int64") if codes else work[target], dtype="float32")
        classes = [str(c) for c in y_frame.columns]
        y, target_names = float32_tensor(y_frame), one_hot_target_names(str(target), classes)
    else:
        y, target_names = float32_tensor(work[[target]]), [str(target)]
        check_finite(y, [target], work.index)
    origin = prep_origin(rows_in, None if sampled is None else len(sampled), rows_missing_target, target,
                         rows_missing_features, gap_counts, filled, text_gaps)
    dataset = TabularDataset(x, y, [str(c) for c in x_frame.columns], target_names, name,
                             class_column=str(target) if classes else None, origin=origin)
    result = PrepResult(dataset, rows_in, len(work), rows_missing_target, rows_missing_features,
                        numeric, text, encoded, dropped, filled, str(target), classes,
                        None if sampled is None else len(sampled), classes_from_numbers=codes, text_gaps=text_gaps,
                        filled_gaps=gap_counts)
    result.true_false = [str(c) for c in [*numeric, target] if c in work.columns and not (c == target and labels)
                         and (column_kind(work[c]) == "true/false" or infer_dtype(work[c], skipna=True) == "boolean")]
    if sampled is not None and labels:
        # A class that only rows outside the sample hold gets no target column: the model cannot learn it.
        kept = set(classes)
        result.classes_not_sampled = [c for c in file_classes(frame[target], codes) if c not in kept]
    return result


def prep_origin(rows_in: int, rows_sampled: int | None, rows_missing_target: int, target: str,
                rows_missing_features: int, gap_counts: dict[str, int], filled: dict[str, float],
                text_gaps: dict[str, int]) -> tuple[str, ...]:
    """Lines saying which rows of the file a dataset keeps and which of its values the Data page made up."""
    lines = []
    if rows_sampled is not None:
        lines.append(f"a seeded random sample of {rows_sampled:,} of the file's {rows_in:,} rows")
    if rows_missing_target:
        lines.append(f"{plural(rows_missing_target, 'row')} without a value in {_short(target)} dropped")
    if rows_missing_features:
        lines.append(f"{plural(rows_missing_features, 'row')} with an empty feature cell dropped")
    for column, mean in filled.items():
        lines.append(f"{plural(gap_counts[column], 'empty cell')} of {_short(column)} filled with {mean:.7g}, the "
                     "mean of its values in the rows kept")
    for column, count in text_gaps.items():
        lines.append(f"{plural(count, 'empty cell')} of {_short(column)} one-hot encoded as all zeros")
    return tuple(lines)


def _short(column: str, limit: int = 40) -> str:
    """A column name for a one-line note: quoted, on one line, cut short so the numbers after it stay."""
    name = " ".join(str(column).split())
    return f"'{name if len(name) <= limit else name[:limit - 1] + '…'}'"


def file_classes(target: pd.Series, codes: bool) -> list[str]:
    """Every class of the whole target column, sorted as get_dummies sorts them (class codes by number)."""
    present = target.dropna()
    if not codes:
        return sorted(str(c) for c in present.unique())
    numbers = present.astype("float64")
    whole = numbers[np.isfinite(numbers) & (numbers == numbers.round())]
    return [str(c) for c in sorted(whole.astype("int64").unique())]


def check_whole_numbers(target: pd.Series, name: str) -> None:
    """Class codes must be whole numbers that int64 holds exactly (0, 1, 2), not 2.5 or inf."""
    values = target.astype("float64")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != values.round()) | (values.abs() > 2**53)
    if bad.any():
        row = bad.idxmax()  # the first offending row's label
        raise TorchstartError(f"The target '{name}' holds {target[row]:g} (row {row} of the table above), which is "
                              "not a whole number, so its values cannot be class labels. Untick \"Treat the "
                              "target's whole numbers as class labels\" to fit the numbers as they are, or pick a "
                              "column of class codes such as 0, 1, 2.")


def check_fill_means(filled: dict[str, float], frame: pd.DataFrame) -> None:
    """Refuse a mean that float32 cannot hold: an inf (or huge) value makes the mean ±inf, and it would fill gaps."""
    for col, mean in filled.items():
        if math.isfinite(mean) and abs(mean) <= FLOAT32_MAX:
            continue
        gaps = int(frame[col].isna().sum())
        raise TorchstartError(
            f"The mean of feature column '{col}' is {mean:g}, which float32 cannot hold, so it cannot fill the "
            f"column's {gaps:,} gap{'s' if gaps != 1 else ''}: the column holds infinite values (inf) or numbers "
            "beyond float32's range of about ±3.4e38, and they carry over into its mean. Fix or remove those "
            f"values and upload again, or leave '{col}' out of the features.")


def sample_rows(frame: pd.DataFrame, rows: int | None) -> pd.DataFrame | None:
    """A seeded random sample of ``rows`` rows in file order, or None when every row is used.

    Random, not the first rows: files are often sorted (iris by species), and the
    first 100 rows of a sorted file would hold only some of its classes.
    """
    if rows is None or rows >= len(frame):
        return None
    if rows < 2:
        raise TorchstartError(f"Rows to use is {rows:,}; a dataset needs at least two rows. Use 2 or more.")
    return frame.sample(n=rows, random_state=SAMPLE_SEED).sort_index()


def float32_tensor(frame: pd.DataFrame) -> torch.Tensor:
    """The frame's values as a float32 (rows, columns) tensor, copying only when pandas hands a read-only view."""
    with np.errstate(over="ignore"):  # values beyond float32 become inf here; check_finite then names them
        array = frame.to_numpy(dtype=np.float32)
    if not array.flags.writeable:  # copy-on-write pandas may return a view of its own storage
        array = array.copy()
    return torch.from_numpy(array)


def check_finite(tensor: torch.Tensor, columns: list, rows: pd.Index) -> None:
    """Refuse inf, and numbers beyond float32's range (they become inf): every loss on them is inf or NaN."""
    bad = ~torch.isfinite(tensor)
    if not bad.any():
        return
    row, col = (int(i) for i in bad.nonzero()[0])
    count = int(bad[:, col].sum())
    raise TorchstartError(
        f"Column '{columns[col]}' has {count:,} value{'s' if count != 1 else ''} that float32 cannot hold (the "
        f"first in row {rows[row]} of the table above): infinite (inf), or beyond float32's range of about "
        "±3.4e38, which turns into inf. A model trained on them only gets inf or NaN losses. Fix or remove those "
        "values (or rescale the column) and upload again, or leave the column out.")


def check_choices(frame: pd.DataFrame, choices: PrepChoices) -> tuple[str, list[str]]:
    """The target and the features (the target left out of them), or a message about the pick."""
    target = choices.target
    if target not in frame.columns:
        raise TorchstartError(f"There is no column '{target}' to predict. Pick the target among the table's columns.")
    missing = [c for c in choices.features if c not in frame.columns]
    if missing:
        raise TorchstartError(f"Unknown feature column(s): {', '.join(missing)}. Pick features from the table.")
    if choices.non_numeric not in NON_NUMERIC_CHOICES or choices.missing not in MISSING_CHOICES:
        raise TorchstartError("Unknown option for text columns or missing values.")
    features = [c for c in dict.fromkeys(choices.features) if c != target]
    if not features:
        text = [c for c in frame.columns if c != target and column_kind(frame[c]) == "text"]
        signed = [c for c in text if signed_numbers(frame[c].dropna().head(1000))]
        why = (" Text columns whose value differs on nearly every row (names, dates, ids) are not picked for you: "
               "one-hot encoded, each row would get a column of its own to memorise." if text else "")
        if signed:
            why = (f" {name_list([str(c) for c in signed])} {'holds' if len(signed) == 1 else 'hold'} numbers written "
                   "with currency or percent signs, which pandas reads as text: remove the signs in the file and "
                   "upload again to use them as numbers.")
        raise TorchstartError(f"Choose at least one feature column (other than the target).{why}")
    return target, features


def check_rows_left(work: pd.DataFrame, of_rows: str) -> None:
    """At least two rows must survive the missing-value handling; ``of_rows`` says of how many ("120 rows")."""
    if len(work) < 2:
        raise TorchstartError(f"Only {len(work)} of {of_rows} are left after removing rows with missing "
                              "values; a dataset needs at least two. Fill missing features with the mean, or "
                              "choose columns with fewer gaps.")


def check_target_values(target: pd.Series, name: str) -> None:
    """A constant target teaches nothing: refuse it."""
    if target.min() == target.max():  # cheaper than nunique() on a million rows
        value = target.iloc[0]
        raise TorchstartError(f"The target '{name}' has the same value ({value}) in every kept row, so there is "
                              "nothing to learn. Pick a target column whose values vary.")


def is_class_target(target: pd.Series) -> bool:
    """True when the (gap-free) target holds text labels; a true/false column with gaps reads as text but is not."""
    return column_kind(target) == "text" and infer_dtype(target, skipna=True) != "boolean"


def check_classes(target: pd.Series, name: str) -> None:
    """A text target needs 2..MAX_CLASSES distinct labels: one class teaches nothing, hundreds are not classes."""
    distinct = int(target.nunique())
    if distinct < 2:
        raise TorchstartError(f"The target '{name}' has the same value ({target.iloc[0]}) in every kept row, so "
                              "there is nothing to learn. Pick a target column whose values vary.")
    signs = signed_numbers(target.head(1000))
    if distinct > MAX_CLASSES and signs:
        raise TorchstartError(f"The target '{name}' holds numbers written with {sign_names(signs)}, so pandas read "
                              "it as text: as a target its values would be class names "
                              f"({distinct:,} of them; a class column here has at most {MAX_CLASSES}). {REMOVE_SIGNS}")
    if distinct > MAX_CLASSES and written_numbers(target):
        raise TorchstartError(f"The target '{name}' holds numbers, but some of its cells are not (the warning under "
                              "the column table names them), so pandas read the whole column as text: as a target "
                              f"its {distinct:,} distinct values would be class names, and a class column here has "
                              f"at most {MAX_CLASSES}. Fix those cells in the file and upload again, or pick another "
                              "target.")
    if distinct > MAX_CLASSES:
        raise TorchstartError(f"The target '{name}' has {distinct:,} distinct values; a class column here has at "
                              f"most {MAX_CLASSES}. Pick a column of class labels (such as 'species') or a numeric "
                              "column as the target.")


def look_alike_classes(classes: list[str]) -> list[list[str]]:
    """Groups of class names that differ only in case or surrounding spaces ("yes", "Yes", "YES "): to pandas
    they are different classes, and the model would have to learn to tell them apart."""
    groups: dict[str, list[str]] = {}
    for name in classes:
        groups.setdefault(" ".join(str(name).split()).casefold(), []).append(str(name))
    return [names for names in groups.values() if len(names) > 1]


def dataset_classes(dataset: TabularDataset) -> list[str]:
    """The classes of a one-hot class target ("species=setosa", ...); empty for numeric targets."""
    return dataset.classes


def check_unique_features(x_frame: pd.DataFrame, text: list[str]) -> None:
    """Refuse a one-hot column named like a column already chosen ('colour' -> 'colour_red' beside 'colour_red')."""
    clashes = list(dict.fromkeys(str(c) for c in x_frame.columns[x_frame.columns.duplicated()]))
    if not clashes:
        return
    name = clashes[0]
    source = next((c for c in text if name.startswith(f"{c}_")), None)
    origin = (f"One-hot encoding '{source}' makes a column named '{name}'" if source
              else f"Two features are named '{name}'")
    raise TorchstartError(f"{origin}, and the chosen features already hold a column of that name, so the model could "
                          "not tell them apart. Leave one of the two out of the features (or rename a column in the "
                          "file and upload it again).")


def check_one_hot_width(frame: pd.DataFrame, numeric: list[str], text: list[str]) -> list[int]:
    """How many columns each text column one-hot encodes into; refuse encodings that explode."""
    width, widths = len(numeric), []
    for col in text:
        distinct = int(frame[col].nunique())
        widths.append(distinct)
        if distinct > MAX_CATEGORIES:
            raise TorchstartError(f"'{col}' has {distinct:,} distinct text values; one-hot encoding is limited to "
                                  f"{MAX_CATEGORIES} per column. Drop text columns, or leave '{col}' out of the "
                                  "features.")
        width += distinct
    if width > MAX_COLUMNS:
        raise TorchstartError(f"One-hot encoding would make {width:,} feature columns; the limit is {MAX_COLUMNS}. "
                              "Choose fewer text features.")
    if len(frame) * width > MAX_FEATURE_CELLS:
        raise TorchstartError(f"One-hot encoding would make a {len(frame):,} × {width:,} feature tensor "
                              f"({len(frame) * width:,} numbers); the limit is {MAX_FEATURE_CELLS:,}. Choose fewer "
                              "text features, drop text columns, or use fewer rows (Rows to use, above).")
    return widths

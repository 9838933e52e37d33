"""DataFrame -> TabularDataset: profile, column choices, encodings, missing values; the Show code rebuilds it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from torchstart import synthetic
from torchstart.builtin_datasets import BUILTINS, FIRST_INPUTS, FIRST_TARGETS, default_values, make_builtin
from torchstart.csv_loading import load_csv
from torchstart.data_code import builtin_code, csv_code
from torchstart.data_prep import (DROP, DROP_ROWS, MAX_CATEGORIES, MEAN_FILL, ONE_HOT, PrepChoices,
                                  default_choices, prepare, profile_columns)
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError

MIXED = (b"a,b,color,flag,y\n"
         b"1,2,red,true,3\n"
         b"4,,blue,false,6\n"
         b"7,8,red,true,\n"
         b"1,1,,false,2\n"
         b"2.5,3,blue,true,1\n")


@pytest.fixture
def mixed() -> pd.DataFrame:
    return load_csv(MIXED, "mixed.csv").frame


def test_profile_matches_pandas(mixed: pd.DataFrame) -> None:
    prof = profile_columns(mixed).set_index("column")
    assert prof.loc["b", "missing"] == 1 and prof.loc["color", "missing"] == 1
    assert prof.loc["color", "kind"] == "text" and prof.loc["flag", "kind"] == "true/false"
    assert prof.loc["a", "mean"] == pytest.approx(mixed["a"].mean())
    assert prof.loc["a", "std"] == pytest.approx(mixed["a"].std())
    assert prof.loc["y", "max"] == 6.0 and prof.loc["y", "missing"] == 1
    assert prof.loc["color", "distinct"] == 2
    assert np.isnan(prof.loc["color", "mean"])


def test_default_choices_pick_last_numeric_as_target(mixed: pd.DataFrame) -> None:
    choices = default_choices(mixed)
    assert choices.target == "y" and choices.features == ("a", "b", "flag")


def test_numeric_features_become_float32_tensors(mixed: pd.DataFrame) -> None:
    result = prepare(mixed, PrepChoices(("a", "flag"), "y"), "mixed")
    expected_rows = mixed.dropna(subset=["y"])  # no feature gaps in a or flag
    expected_x = torch.tensor(expected_rows[["a", "flag"]].astype(float).values, dtype=torch.float32)
    assert torch.equal(result.dataset.features, expected_x)
    assert torch.equal(result.dataset.targets, torch.tensor([[3.0], [6.0], [2.0], [1.0]]))
    assert result.dataset.features.dtype == torch.float32
    assert result.rows_in == 5 and result.rows_kept == 4 and result.rows_missing_target == 1
    x0, y0 = result.dataset[0]
    assert x0.tolist() == [1.0, 1.0] and y0.tolist() == [3.0]


def test_one_hot_and_drop_rows(mixed: pd.DataFrame) -> None:
    result = prepare(mixed, PrepChoices(("color", "b"), "y", ONE_HOT, DROP_ROWS))
    # rows kept: 1 (b=2, red), 5 (b=3, blue); row 2 lacks b, row 3 lacks y, row 4 lacks color
    assert result.dataset.feature_names == ["b", "color_blue", "color_red"]
    assert result.dataset.features.tolist() == [[2.0, 0.0, 1.0], [3.0, 1.0, 0.0]]
    assert result.rows_missing_target == 1 and result.rows_missing_features == 2
    assert result.encoded == {"color": ["color_blue", "color_red"]}


def test_mean_fill_uses_the_mean_of_kept_rows(mixed: pd.DataFrame) -> None:
    result = prepare(mixed, PrepChoices(("a", "b"), "y", ONE_HOT, MEAN_FILL))
    kept_b = mixed.dropna(subset=["y"])["b"]
    assert result.filled == {"b": pytest.approx(kept_b.mean())}
    assert result.dataset.features[1, 1].item() == pytest.approx(kept_b.mean())
    assert result.rows_kept == 4


def test_drop_text_features_and_target_left_out_of_features(mixed: pd.DataFrame) -> None:
    result = prepare(mixed, PrepChoices(("a", "color", "y"), "y", DROP, MEAN_FILL))
    assert result.dataset.feature_names == ["a"] and result.dropped_features == ["color"]


BAD_CHOICES = [
    (PrepChoices(("a",), "color"), ["target 'color' holds text", "numeric column"]),
    (PrepChoices(("a",), "nope"), ["no column 'nope'"]),
    (PrepChoices((), "y"), ["at least one feature"]),
    (PrepChoices(("y",), "y"), ["at least one feature"]),
    (PrepChoices(("color",), "y", DROP), ["No feature columns are left"]),
]


@pytest.mark.parametrize(("choices", "fragments"), BAD_CHOICES)
def test_bad_choices_get_a_message(mixed: pd.DataFrame, choices: PrepChoices, fragments: list[str]) -> None:
    with pytest.raises(TorchstartError) as err:
        prepare(mixed, choices)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_constant_target_is_refused() -> None:
    frame = load_csv(b"a,y\n1,5\n2,5\n3,5\n", "c.csv").frame
    assert default_choices(frame).target == "a"  # the default avoids the constant column
    with pytest.raises(TorchstartError, match="target 'y' has the same value \\(5\\) in every kept row"):
        prepare(frame, PrepChoices(("a",), "y"))


def test_empty_trailing_column_is_not_the_default_target() -> None:
    frame = load_csv(b"a,b,y,notes\n1,2,3,\n2,3,5,\n3,5,8,\n", "notes.csv").frame
    choices = default_choices(frame)
    assert choices.target == "y" and choices.features == ("a", "b")
    assert prepare(frame, choices).dataset.features.shape[0] == 3


def test_an_empty_target_says_so() -> None:
    frame = load_csv(b"a,b,y,notes\n1,2,3,\n2,3,5,\n3,5,8,\n", "notes.csv").frame
    with pytest.raises(TorchstartError, match="Only 0 of 3 rows have a value in the target column 'notes'"):
        prepare(frame, PrepChoices(("a", "b"), "notes"))


def test_too_few_rows_left_and_empty_mean() -> None:
    frame = load_csv(b"a,b,y\n1,,1\n,2,2\n3,,3\n", "g.csv").frame
    with pytest.raises(TorchstartError, match="Only 0 of 3 rows are left"):
        prepare(frame, PrepChoices(("a", "b"), "y", ONE_HOT, DROP_ROWS))
    frame = load_csv(b"a,b,y\n1,,1\n2,,2\n3,,3\n", "h.csv").frame
    with pytest.raises(TorchstartError, match="'b'.*no values at all"):
        prepare(frame, PrepChoices(("a", "b"), "y", ONE_HOT, MEAN_FILL))


def test_one_hot_is_capped() -> None:
    rows = "".join(f"id{i},{i}\n" for i in range(MAX_CATEGORIES + 1))
    frame = load_csv(f"name,y\n{rows}".encode(), "ids.csv").frame
    with pytest.raises(TorchstartError, match=f"{MAX_CATEGORIES + 1} distinct text values.*limited to "
                                              f"{MAX_CATEGORIES}"):
        prepare(frame, PrepChoices(("name",), "y", ONE_HOT))


@pytest.mark.parametrize("choices", [
    PrepChoices(("color", "a", "b", "flag"), "y", ONE_HOT, MEAN_FILL),
    PrepChoices(("a", "b", "color"), "y", DROP, DROP_ROWS),
    PrepChoices(("color", "b"), "y", ONE_HOT, DROP_ROWS),
    PrepChoices(("a", "flag", "y"), "y", ONE_HOT, MEAN_FILL),
])
def test_show_code_rebuilds_the_same_tensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             choices: PrepChoices) -> None:
    (tmp_path / "mixed.csv").write_bytes(MIXED)
    table = load_csv(MIXED, "mixed.csv")
    result = prepare(table.frame, choices, "mixed.csv")
    code = csv_code("mixed.csv", table.format, choices, result.numeric_features, result.text_features)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # our own generated code, run the way a learner would run it
    built = namespace["dataset"]
    assert type(built).__name__ == "CustomDataset" and len(built) == len(result.dataset)
    assert torch.equal(built.features, result.dataset.features)
    assert torch.equal(built.targets, result.dataset.targets)
    x, y = built[1]
    assert torch.equal(x, result.dataset[1][0]) and torch.equal(y, result.dataset[1][1])


@pytest.mark.parametrize(("text", "encoding"), [
    ("größe;gewicht\n1,5;2\n2,5;4\n3,5;7\n", "latin-1"),
    ("größe;preis €\n1,5;2\n2,5;4\n3,5;7\n", "cp1252"),  # € is byte 0x80 in Windows-1252 only
])
def test_show_code_for_a_semicolon_latin1_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                               encoding: str) -> None:
    data = text.encode(encoding)
    (tmp_path / "eu.txt").write_bytes(data)
    table = load_csv(data, "eu.txt")
    result = prepare(table.frame, default_choices(table.frame), "eu.txt")
    code = csv_code("eu.txt", table.format, default_choices(table.frame), result.numeric_features,
                    result.text_features)
    assert "sep=';'" in code and f"encoding='{encoding}'" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)
    assert torch.equal(namespace["dataset"].features, result.dataset.features)


def test_first_example_is_the_hand_written_dataset() -> None:
    ds = make_builtin("first")
    assert torch.equal(ds.features, torch.tensor(FIRST_INPUTS))
    assert torch.equal(ds.targets, torch.tensor(FIRST_TARGETS))
    assert ds.n_features == 2 and ds.n_targets == 1 and len(ds) == 3  # fits nn.Linear(2, 1)
    model = torch.nn.Linear(2, 1)
    assert model(ds.features).shape == ds.targets.shape


def test_builtins_reuse_the_shared_generators() -> None:
    line = make_builtin("line", {"n": 50, "slope": 3.0, "intercept": -1.0, "noise": 0.2, "seed": 4})
    ref = synthetic.synthetic_line(50, 3.0, -1.0, 0.2, 4).dataset
    assert torch.equal(line.features, ref.features) and torch.equal(line.targets, ref.targets)
    multi = make_builtin("multi", {"n": 30, "n_features": 4, "noise": 0.0, "seed": 2})
    assert multi.features.shape == (30, 4)
    two = make_builtin("two_class", {"n": 40, "separation": 4.0, "seed": 1})
    assert set(two.targets.flatten().tolist()) <= {0.0, 1.0}


def test_builtin_caps_raise() -> None:
    with pytest.raises(TorchstartError, match="capped at 100,000"):
        make_builtin("line", {"n": 100_001})


@pytest.mark.parametrize("key", list(BUILTINS))
def test_builtin_show_code_rebuilds_the_same_tensors(key: str) -> None:
    values = default_values(key) | ({"n": 37, "seed": 11} if key != "first" else {})
    ds = make_builtin(key, values)
    namespace: dict = {}
    exec(builtin_code(key, values), namespace)
    built = namespace["dataset"]
    xs = torch.stack([built[i][0] for i in range(len(built))])
    ys = torch.stack([built[i][1] for i in range(len(built))])
    assert isinstance(ds, TabularDataset)
    assert torch.equal(xs, ds.features) and torch.equal(ys, ds.targets)

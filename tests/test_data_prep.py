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
from torchstart.data_figures import dataset_figure
from torchstart.data_prep import (DROP, DROP_ROWS, MAX_CATEGORIES, MAX_CLASSES, MEAN_FILL, ONE_HOT, SAMPLE_SEED,
                                  PrepChoices, column_kind, dataset_classes, default_choices, prepare, profile_columns)
from torchstart.datasets import TabularDataset, class_names, one_hot_target_names
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
    # color is a category, but empty on 1 row of 5: with "drop rows" each gap costs a row, so not by default
    assert choices.target == "y" and choices.features == ("a", "b", "flag")


def test_text_columns_join_the_default_features_when_they_are_categories_not_names() -> None:
    rows = "".join(f"{i},house{i},{['north', 'south', 'east'][i % 3]},{['a', 'b'][i % 2]}x{i},{i * 10}\n"
                   for i in range(12))
    frame = load_csv(f"sqm,name,area,code,price\n{rows}".encode(), "houses.csv").frame
    assert default_choices(frame) == PrepChoices(("sqm", "area"), "price")  # 12 names and 12 codes: one per row
    result = prepare(frame, default_choices(frame), "houses.csv")
    assert result.dataset.feature_names == ["sqm", "area_east", "area_north", "area_south"]
    # Left out: a category on a few rows only (each gap would drop a row) and numbers one stray cell made text.
    sparse = "".join(f"{i},{'late' if i % 50 == 0 else ''},{'unknown' if i == 3 else i % 4},{i * 2}\n"
                     for i in range(200))
    frame = load_csv(f"x,note,rating,y\n{sparse}".encode(), "sparse.csv").frame
    assert column_kind(frame["note"]) == column_kind(frame["rating"]) == "text"
    assert default_choices(frame) == PrepChoices(("x",), "y")
    assert prepare(frame, default_choices(frame)).rows_kept == 200


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


def test_the_dataset_says_which_rows_it_kept_and_which_values_were_made_up(mixed: pd.DataFrame) -> None:
    filled = prepare(mixed, PrepChoices(("a", "b", "color"), "y", ONE_HOT, MEAN_FILL)).dataset
    mean_b = mixed.dropna(subset=["y"])["b"].mean()
    assert filled.origin == ("1 row without a value in 'y' dropped",
                             f"1 empty cell of 'b' filled with {mean_b:.7g}, the mean of its values in the rows kept",
                             "1 empty cell of 'color' one-hot encoded as all zeros")
    dropped = prepare(mixed, PrepChoices(("b",), "y", ONE_HOT, DROP_ROWS)).dataset
    assert dropped.origin == ("1 row without a value in 'y' dropped", "1 row with an empty feature cell dropped")
    # A long or odd column name is cut short on one line, so the mean after it stays in the note.
    odd = mixed.rename(columns={"b": "average monthly household\nelectricity consumption in kWh"})
    line = prepare(odd, PrepChoices(("a", odd.columns[1]), "y", ONE_HOT, MEAN_FILL)).dataset.origin[1]
    assert line == f"1 empty cell of 'average monthly household electricity c…' filled with {mean_b:.7g}, the mean " \
                   "of its values in the rows kept"
    sampled = prepare(mixed, PrepChoices(("a",), "flag", rows=4)).dataset
    assert sampled.origin == ("a seeded random sample of 4 of the file's 5 rows",)
    assert prepare(mixed, PrepChoices(("a",), "flag")).dataset.origin == ()  # every row, as the file has it


def test_drop_text_features_and_target_left_out_of_features(mixed: pd.DataFrame) -> None:
    result = prepare(mixed, PrepChoices(("a", "color", "y"), "y", DROP, MEAN_FILL))
    assert result.dataset.feature_names == ["a"] and result.dropped_features == ["color"]


BAD_CHOICES = [
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
    PrepChoices(("a", "b", "flag"), "color", ONE_HOT, MEAN_FILL),  # a text target: one-hot classes
    PrepChoices(("a", "b"), "color", ONE_HOT, DROP_ROWS),
])
def test_show_code_rebuilds_the_same_tensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             choices: PrepChoices) -> None:
    (tmp_path / "mixed.csv").write_bytes(MIXED)
    table = load_csv(MIXED, "mixed.csv")
    result = prepare(table.frame, choices, "mixed.csv")
    code = csv_code("mixed.csv", table.format, choices, result.numeric_features, result.text_features,
                    result.classes)
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


# ---------------------------------------------------------------- a text target: class labels, one-hot

IRIS = (b"sepal_length,sepal_width,petal_length,petal_width,species\n"
        b"5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"
        b"4.9,3.0,1.4,0.2,setosa\n6.4,3.2,4.5,1.5,versicolor\n5.8,2.7,5.1,1.9,virginica\n"
        b"5.0,3.6,1.4,0.2,\n"  # no label: dropped
        b"6.9,3.1,5.4,2.1,virginica\n5.5,2.3,4.0,1.3,versicolor\n")
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def test_iris_defaults_to_species_as_one_hot_classes() -> None:
    frame = load_csv(IRIS, "iris.csv").frame
    choices = default_choices(frame)
    assert choices.target == "species"
    assert choices.features == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    result = prepare(frame, choices, "iris.csv")
    ds = result.dataset
    assert result.classes == IRIS_CLASSES and result.target == "species"
    assert ds.target_names == one_hot_target_names("species", IRIS_CLASSES) == ["species=setosa",
                                                                                 "species=versicolor",
                                                                                 "species=virginica"]
    assert ds.class_column == "species"
    assert class_names(ds.target_names, "species") == dataset_classes(ds) == IRIS_CLASSES
    kept = frame.dropna(subset=["species"])
    expected = torch.tensor([[float(label == c) for c in IRIS_CLASSES] for label in kept["species"]])
    assert ds.targets.dtype == torch.float32 and ds.targets.shape == (8, 3)
    assert torch.equal(ds.targets, expected)
    assert ds.targets[:3].tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    assert torch.equal(ds.features, torch.tensor(kept.iloc[:, :4].to_numpy(), dtype=torch.float32))
    # rows of class probabilities: CrossEntropyLoss gives the same loss as with the class indices
    logits = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    indices = torch.tensor([IRIS_CLASSES.index(label) for label in kept["species"]])
    assert torch.equal(ds.targets.argmax(1), indices)
    assert torch.nn.CrossEntropyLoss()(logits, ds.targets).item() == pytest.approx(
        torch.nn.CrossEntropyLoss()(logits, indices).item(), rel=1e-6)


def test_rows_without_a_label_are_dropped_first() -> None:
    frame = load_csv(IRIS, "iris.csv").frame
    result = prepare(frame, default_choices(frame))
    assert result.rows_in == 9 and result.rows_kept == 8 and result.rows_missing_target == 1
    assert 5.0 not in result.dataset.features[:, 0].tolist()  # the unlabelled row's sepal_length


def test_classes_sort_as_strings_in_prepare_and_in_pandas() -> None:
    frame = load_csv(b"x,label\n1,b\n2,B\n3,10\n4,9\n5,a\n6,b\n", "mixed_labels.csv").frame
    result = prepare(frame, PrepChoices(("x",), "label"))
    assert result.classes == sorted(["b", "B", "10", "9", "a"]) == ["10", "9", "B", "a", "b"]
    assert result.dataset.targets.argmax(1).tolist() == [4, 2, 0, 1, 3, 4]


def test_text_target_with_one_value_or_too_many_is_refused() -> None:
    one = load_csv(b"x,label\n1,cat\n2,cat\n3,\n", "one.csv").frame
    with pytest.raises(TorchstartError, match="target 'label' has the same value \\(cat\\) in every kept row"):
        prepare(one, PrepChoices(("x",), "label"))
    rows = "".join(f"{i},name{i}\n" for i in range(MAX_CLASSES + 1))
    many = load_csv(f"x,name\n{rows}".encode(), "ids.csv").frame
    assert default_choices(many).target == "x"  # 51 distinct names do not look like a label column
    with pytest.raises(TorchstartError) as err:
        prepare(many, PrepChoices(("x",), "name"))
    assert f"target 'name' has {MAX_CLASSES + 1} distinct values; a class column here has at most " \
           f"{MAX_CLASSES}. Pick" in str(err.value)
    at_cap = prepare(many.iloc[:MAX_CLASSES], PrepChoices(("x",), "name"))
    assert at_cap.dataset.targets.shape == (MAX_CLASSES, MAX_CLASSES) and len(at_cap.classes) == MAX_CLASSES


def test_numeric_and_true_false_targets_stay_one_float_column() -> None:
    frame = load_csv(b"x,flag,gappy,label\n1,true,true,u\n2,false,,v\n3,true,false,u\n", "b.csv").frame
    for target, values in [("flag", [1.0, 0.0, 1.0]), ("gappy", [1.0, 0.0])]:  # gaps: pandas reads objects
        result = prepare(frame, PrepChoices(("x",), target))
        assert result.classes == [] and result.dataset.target_names == [target]
        assert result.dataset.targets.flatten().tolist() == values
    assert default_choices(frame).target == "label"  # the text label column at the end


def test_last_text_column_with_many_values_keeps_the_numeric_default() -> None:
    rows = "".join(f"{i},{i * 2},id{i}\n" for i in range(25))
    frame = load_csv(f"x,y,name\n{rows}".encode(), "ids.csv").frame
    assert default_choices(frame) == PrepChoices(("x",), "y")


def test_iris_show_code_rebuilds_the_one_hot_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "iris.csv").write_bytes(IRIS)
    table = load_csv(IRIS, "iris.csv")
    choices = default_choices(table.frame)
    result = prepare(table.frame, choices, "iris.csv")
    code = csv_code("iris.csv", table.format, choices, result.numeric_features, result.text_features,
                    result.classes)
    assert "pd.get_dummies(frame['species']" in code and repr(IRIS_CLASSES) in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["classes"] == IRIS_CLASSES
    assert torch.equal(namespace["dataset"].features, result.dataset.features)
    assert torch.equal(namespace["dataset"].targets, result.dataset.targets)
    assert namespace["dataset"].targets.dtype == torch.float32


def test_three_classes_builtin_and_its_code_agree() -> None:
    values = {"n": 600, "separation": 6.0, "seed": 3}
    ds = make_builtin("three_class", values)
    assert ds.features.shape == (600, 2) and ds.targets.shape == (600, 3)
    assert ds.target_names == one_hot_target_names("class", ["a", "b", "c"])
    assert torch.equal(ds.targets.sum(1), torch.ones(600))  # one-hot rows
    labels = ds.targets.argmax(1)
    assert set(labels.tolist()) == {0, 1, 2}
    corners = torch.tensor([[-3.0, -3.0], [3.0, -3.0], [0.0, 3.0]])  # the corners times separation / 2
    for k in range(3):
        assert torch.allclose(ds.features[labels == k].mean(0), corners[k], atol=0.3)
    assert torch.equal(ds.targets, synthetic.three_class(600, 6.0, 3).dataset.targets)
    namespace: dict = {}
    exec(builtin_code("three_class", values), namespace)
    assert torch.equal(namespace["dataset"].features, ds.features)
    assert torch.equal(namespace["dataset"].targets, ds.targets)
    assert "three_class" in BUILTINS and "CrossEntropy" in BUILTINS["three_class"].description


def test_figure_colours_one_hot_classes_by_argmax() -> None:
    ds = make_builtin("three_class", {"n": 90, "seed": 1})
    fig = dataset_figure(ds)
    assert fig is not None and [t.name for t in fig.data] == ["class=a", "class=b", "class=c"]
    labels = ds.targets.argmax(1)
    for k, trace in enumerate(fig.data):
        assert list(trace.x) == ds.features[labels == k, 0].tolist()
    iris = prepare(load_csv(IRIS, "iris.csv").frame, PrepChoices(("petal_length", "petal_width"), "species"))
    assert [t.name for t in dataset_figure(iris.dataset).data] == iris.dataset.target_names
    assert dataset_figure(prepare(load_csv(IRIS, "iris.csv").frame,
                                  PrepChoices(("petal_length",), "species")).dataset) is None


# ---------------------------------------------------------------- Rows to use: a seeded random sample

LABEL_GAPS = b"a,y\n1,2\n,3\n3,\n4,5\n5,6\n,7\n7,\n8,9\n9,1\n10,\n"
SORTED = ("x,label\n" + "".join(f"{i},{'abc'[i * 3 // 120]}\n" for i in range(120))).encode()  # sorted by label


def test_rows_to_use_takes_a_seeded_sample_in_file_order() -> None:
    frame = load_csv(SORTED, "sorted.csv").frame
    result = prepare(frame, PrepChoices(("x",), "label", rows=30))
    xs = result.dataset.features[:, 0].tolist()
    assert len(result.dataset) == 30 and result.rows_sampled == 30 and result.rows_in == 120
    assert xs == sorted(xs) and len(set(xs)) == 30  # file order, no row twice
    assert xs == frame.sample(n=30, random_state=SAMPLE_SEED).sort_index()["x"].tolist()
    # Random rows, not the first 30 (which are all class a): every class is still there.
    assert result.classes == ["a", "b", "c"]
    assert prepare(frame, PrepChoices(("x",), "label", rows=30)).dataset.features.tolist() == \
        result.dataset.features.tolist()  # the same seed, the same rows


@pytest.mark.parametrize("rows", [None, 120, 500])
def test_rows_to_use_at_or_above_the_table_keeps_every_row(rows: int | None) -> None:
    frame = load_csv(SORTED, "sorted.csv").frame
    result = prepare(frame, PrepChoices(("x",), "label", rows=rows))
    assert len(result.dataset) == 120 and result.rows_sampled is None
    assert "sample" not in csv_code("sorted.csv", load_csv(SORTED, "sorted.csv").format,
                                    PrepChoices(("x",), "label", rows=rows), ["x"], [], ["a", "b", "c"],
                                    rows_in=120)


def test_rows_to_use_counts_gaps_within_the_sample() -> None:
    frame = load_csv(LABEL_GAPS, "gaps.csv").frame
    sample = frame.sample(n=6, random_state=SAMPLE_SEED)
    result = prepare(frame, PrepChoices(("a",), "y", rows=6))
    assert result.rows_missing_target == int(sample["y"].isna().sum())
    assert result.rows_kept == 6 - result.rows_missing_target - result.rows_missing_features


def test_rows_to_use_below_two_and_too_few_labelled_rows_say_so() -> None:
    frame = load_csv(SORTED, "sorted.csv").frame
    with pytest.raises(TorchstartError, match="at least two rows"):
        prepare(frame, PrepChoices(("x",), "label", rows=1))
    sparse = load_csv(b"a,y\n1,\n2,\n3,\n4,5\n5,\n6,\n7,\n8,9\n", "sparse.csv").frame
    with pytest.raises(TorchstartError, match="of 2 sampled rows"):
        prepare(sparse, PrepChoices(("a",), "y", rows=2))


def test_a_sample_that_misses_a_class_says_which() -> None:
    frame = load_csv(SORTED, "sorted.csv").frame
    small = prepare(frame, PrepChoices(("x",), "label", rows=3))
    sample = frame.sample(n=3, random_state=SAMPLE_SEED)
    assert small.classes == sorted(set(sample["label"]))
    assert small.classes_not_sampled == sorted({"a", "b", "c"} - set(sample["label"])) != []
    assert small.dataset.n_targets == len(small.classes)
    assert prepare(frame, PrepChoices(("x",), "label", rows=30)).classes_not_sampled == []
    assert prepare(frame, PrepChoices(("x",), "label")).classes_not_sampled == []  # no sample, nothing missed


# ---------------------------------------------------------------- review fixes: gaps in text, class codes, ordinals

SEMI = ("\ufeffsize;weight;colour;note;label\n1,5;2;red;\"a; b\";yes\n2,5;;blue;x;no\n3,0;4,25;red;y;yes\n"
        "4,5;5;green;z;no\n5,0;6,5;blue;w;yes\n6,5;7;red;v;no\n7,0;8,5;;u;yes\n8,5;9;green;t;no\n").encode()


def test_mean_fill_reports_text_gaps_that_become_all_zero_one_hot_rows() -> None:
    frame = load_csv(SEMI, "semi.csv").frame
    result = prepare(frame, PrepChoices(("size", "weight", "colour"), "label", ONE_HOT, MEAN_FILL))
    assert result.filled == {"weight": pytest.approx(frame["weight"].mean())}  # numbers: the mean
    assert result.text_gaps == {"colour": 1}  # text: no mean, pd.get_dummies leaves the row all zero
    names = result.dataset.feature_names
    colour = [names.index(c) for c in ("colour_blue", "colour_green", "colour_red")]
    assert result.dataset.features[6, colour].tolist() == [0.0, 0.0, 0.0]  # row 6 had no colour
    assert result.dataset.features[:, colour].sum(1).tolist() == [1.0] * 6 + [0.0, 1.0]
    # Dropping rows, or text columns, leaves no text gap to report.
    assert prepare(frame, PrepChoices(("size", "colour"), "label", ONE_HOT, DROP_ROWS)).text_gaps == {}
    assert prepare(frame, PrepChoices(("size", "colour"), "label", DROP, MEAN_FILL)).text_gaps == {}


@pytest.mark.parametrize(("data", "mean"), [
    (b"a,b,y\n,1,1\n-inf,2,2\n3,3,3\n4,4,5\n", "-inf"),
    (b"a,b,y\n,1,1\ninf,2,2\n3,3,3\n4,4,5\n", "inf"),
    (b"a,b,y\n,1,1\n1e39,2,2\n3e39,3,3\n4,4,5\n", "1.33333e+39"),  # finite in float64, not in float32
])
def test_a_mean_float32_cannot_hold_is_named_not_the_gap_it_would_fill(data: bytes, mean: str) -> None:
    frame = load_csv(data, "inf.csv").frame
    assert f"{frame['a'].iloc[1:].mean():g}" == mean
    with pytest.raises(TorchstartError) as err:
        prepare(frame, PrepChoices(("a", "b"), "y", ONE_HOT, MEAN_FILL))
    message = str(err.value)
    assert f"The mean of feature column 'a' is {mean}, which float32 cannot hold" in message
    assert "cannot fill the column's 1 gap" in message and "leave 'a' out of the features" in message
    assert "row 0" not in message  # row 0 was a gap in the file, not a value float32 cannot hold


CODED = b"x1,x2,species\n1,2,0\n2,1,1\n3,3,2\n4,1,0\n5,2,1\n6,3,2\n7,1,10\n8,2,0\n"


def test_class_codes_become_one_hot_classes_sorted_by_number() -> None:
    frame = load_csv(CODED, "coded.csv").frame
    plain = prepare(frame, PrepChoices(("x1", "x2"), "species"))
    assert plain.classes == [] and plain.dataset.target_names == ["species"]  # unticked: numbers to fit
    result = prepare(frame, PrepChoices(("x1", "x2"), "species", class_codes=True))
    assert result.classes == ["0", "1", "2", "10"] and result.classes_from_numbers  # 10 after 2, as numbers
    assert result.dataset.target_names == ["species=0", "species=1", "species=2", "species=10"]
    expected = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 2, 3, 0]), 4).float()
    assert torch.equal(result.dataset.targets, expected)
    assert dataset_classes(result.dataset) == ["0", "1", "2", "10"]
    # A text target ignores the box: it is classes already.
    iris = prepare(load_csv(IRIS, "iris.csv").frame, PrepChoices(("petal_length",), "species", class_codes=True))
    assert iris.classes == IRIS_CLASSES and not iris.classes_from_numbers


def test_class_codes_refuse_a_number_that_is_not_whole() -> None:
    frame = load_csv(b"a,y\n1,0\n2,2.5\n3,1\n4,0\n", "half.csv").frame
    with pytest.raises(TorchstartError) as err:
        prepare(frame, PrepChoices(("a",), "y", class_codes=True))
    assert "The target 'y' holds 2.5 (row 1 of the table above), which is not a whole number" in str(err.value)
    assert "Untick \"Treat the target's whole numbers as class labels\"" in str(err.value)


def test_class_codes_missing_from_a_sample_are_named_as_numbers() -> None:
    frame = load_csv(CODED, "coded.csv").frame
    small = prepare(frame, PrepChoices(("x1",), "species", rows=3, class_codes=True))
    sample = frame.sample(n=3, random_state=SAMPLE_SEED)
    assert small.classes == [str(c) for c in sorted(set(sample["species"]))]
    assert small.classes_not_sampled == [str(c) for c in sorted({0, 1, 2, 10} - set(sample["species"]))]


def test_class_codes_show_code_rebuilds_the_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = load_csv(CODED, "coded.csv")
    choices = PrepChoices(("x1", "x2"), "species", class_codes=True)
    result = prepare(table.frame, choices, "coded.csv")
    code = csv_code("coded.csv", table.format, choices, result.numeric_features, result.text_features,
                    result.classes, rows_in=len(table.frame), class_codes=result.classes_from_numbers)
    assert "pd.get_dummies(frame['species'].astype('int64'), dtype='float32')" in code
    (tmp_path / "coded.csv").write_bytes(CODED)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # our own generated code
    assert torch.equal(namespace["dataset"].targets, result.dataset.targets)
    assert namespace["classes"] == [0, 1, 2, 10]


@pytest.mark.parametrize(("rows", "title"), [(4_000, "every 2nd of 4,000 rows"), (6_000, "every 3rd of 6,000 rows"),
                                             (22_000, "every 11th of 22,000 rows"),
                                             (42_000, "every 21st of 42,000 rows")])
def test_scatter_title_uses_the_right_ordinal(rows: int, title: str) -> None:
    ds = make_builtin("line", {"n": rows})
    fig = dataset_figure(ds)
    assert title in fig.layout.title.text
    assert len(fig.data[0].x) == len(ds.features[::rows // 2_000])  # what the title says is what is drawn


def test_long_column_and_class_names_are_cut_on_the_axes_and_legend_and_whole_in_the_hover() -> None:
    # 190-character names squeezed the scatter to a sliver beside its legend and axis titles.
    long_x, long_y = "x" * 150 + " <b>%{y}</b> end", "second feature " + "y" * 180
    long_class = "a class with a name far longer than a legend has room for"
    frame = pd.DataFrame({long_x: [1.0, 2.0, 3.0, 4.0], long_y: [0.5, 0.1, 0.9, 0.3],
                          "label": [long_class, "short", long_class, "short"]})
    fig = dataset_figure(prepare(frame, PrepChoices((long_x, long_y), "label")).dataset)
    assert fig.layout.xaxis.title.text == "x" * 59 + "…" and fig.layout.yaxis.title.text == "second feature " + "y" * 14 + "…"
    assert [t.name for t in fig.data] == ["label=a class with a name far…", "label=short"]
    trace = fig.data[0]
    # whole, in lines of at most 60 characters
    assert [m.replace("<br>", "") for m in trace.meta] == [long_x.replace("<", "&lt;").replace(">", "&gt;"), long_y,
                                                            "label=" + long_class]
    assert max(len(line) for line in trace.meta[1].split("<br>")) == 60 and trace.meta[1].count("<br>") == 3
    assert trace.hovertemplate == "%{meta[2]}<br>%{meta[0]}: %{x}<br>%{meta[1]}: %{y}<extra></extra>"
    assert list(trace.x) == [1.0, 3.0] and list(trace.y) == [0.5, 0.9]
    short = dataset_figure(make_builtin("line", {"n": 20}))
    assert short.layout.xaxis.title.text == "x" and short.data[0].meta[:2] == ("x", "y")

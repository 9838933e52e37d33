"""The Data page in AppTest and in a real browser: built-ins, uploads, bad files, column choices, batches."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.browser import expect, main_text
from tests.journey import fill, upload_csv
from tests.test_data_loading import BAD_FILES
from tests.test_data_prep import IRIS, IRIS_CLASSES
from torchstart import session
from torchstart.batch_viewer import HEAD_ROWS
from torchstart.csv_loading import MAX_COLUMNS, MAX_UPLOAD_MB
from torchstart.data_figures import batch_grid_figure
from torchstart.data_prep import SAMPLE_SEED

PAGE = "pages/data.py"
CSV = (b"height,width,colour,weight\n"
       b"1.0,2.0,red,3.5\n2.0,1.5,blue,4.0\n3.0,2.5,red,6.5\n4.0,3.0,green,8.0\n5.0,2.0,blue,8.5\n"
       b"6.0,4.0,red,11.0\n7.0,3.5,green,12.5\n8.0,1.0,blue,11.0\n9.0,2.5,red,14.5\n10.0,5.0,green,17.0\n")


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _table_with(at, column: str):
    """The first st.dataframe whose table has ``column`` (AppTest does not expose dataframe keys)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a column {column!r}")


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def _upload(at, name: str, data: bytes):
    if at.radio(key="data.source").value != "Upload a CSV":
        at.radio(key="data.source").set_value("Upload a CSV").run()
    at.file_uploader(key="data.upload").set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_opens_with_the_hand_written_example(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception
    ds = at.session_state[session.DATASET]
    assert ds.features.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert "CustomDataset" in at.session_state["data.code"]
    assert _metrics(at)["Batches per epoch"] == "2"  # 3 samples, batch_size 2: a full batch, then a short one
    assert any("ceil(3 / 2) = 2" in m.value for m in at.markdown)
    assert any("The last batch holds 1 sample instead of 2" in i.value for i in at.info)
    x0, y0 = ds[0]
    assert any(f"with shapes `{x0.shape}` and `{y0.shape}`" in m.value and "torch.Size([2])" in m.value
               for m in at.markdown)  # dataset[0]'s shapes as .shape prints them
    at.number_input(key="data.batch_size").set_value(4).run()
    # The one batch is short: drop_last would leave no batch at all, not just skip a remainder.
    assert any("All 3 samples fit in one batch" in i.value and "no batches at all" in i.value for i in at.info)
    at.checkbox(key="data.drop_last").check().run()
    assert not at.exception and _errors(at)  # the page says why an empty epoch is refused


def test_builtin_settings_rebuild_the_dataset(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="data.builtin").set_value("line").run()
    at.number_input(key="data.builtin.line.n").set_value(30).run()
    ds = at.session_state[session.DATASET]
    assert len(ds) == 30 and ds.feature_names == ["x"]
    assert _metrics(at)["Batches per epoch"] == str(math.ceil(30 / 2))
    assert len(at.get("plotly_chart")) == 2  # the data scatter and the batch grid


def test_upload_choose_columns_see_dataset_and_batches(open_page) -> None:
    at = _upload(open_page(PAGE), "shapes.csv", CSV)
    assert not _errors(at)
    preview = _table_with(at, "colour")
    assert list(preview.columns) == ["height", "width", "colour", "weight"] and len(preview) == 10
    profile = _table_with(at, "missing").set_index("column")
    assert profile.loc["colour", "kind"] == "text" and profile.loc["height", "mean"] == "5.5"  # as "%.4g" shows
    assert profile.loc["height", "dtype"] == "float64"  # as pandas read it
    # No statistics for a text column: a dash, not the "None" st.dataframe prints for NaN.
    assert profile.loc["colour", ["mean", "std", "min", "max"]].tolist() == ["—"] * 4
    ds = at.session_state[session.DATASET]
    # colour (3 values on 10 rows) is a category: a default feature, one-hot encoded after the numbers
    assert ds.feature_names == ["height", "width", "colour_blue", "colour_green", "colour_red"]
    assert ds.target_names == ["weight"] and len(ds) == 10

    at.multiselect(key="data.features").set_value(["height", "colour"]).run()
    ds = at.session_state[session.DATASET]
    assert ds.feature_names == ["height", "colour_blue", "colour_green", "colour_red"]
    assert ds.features[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert _metrics(at)["Feature tensor columns"] == "4"
    assert _metrics(at)["Rows kept"] == "10 of 10"

    assert _metrics(at)["Batches per epoch"] == "5"  # ceil(10 / 2)
    at.number_input(key="data.batch_size").set_value(3).run()
    assert _metrics(at)["Batches per epoch"] == "4"  # ceil(10 / 3)
    at.checkbox(key="data.drop_last").check().run()
    assert _metrics(at)["Batches per epoch"] == "3"  # floor(10 / 3)
    assert any("drop_last removes 1 sample" in w.value for w in at.warning)
    batches = _table_with(at, "sample indices")
    assert batches["size"].tolist() == [3, 3, 3]
    grid = at.get("plotly_chart")[-1].proto.spec
    assert '"heatmap"' in grid


def test_every_bad_upload_keeps_the_previous_dataset(open_page) -> None:
    at = _upload(open_page(PAGE), "good.csv", CSV)
    good = at.session_state[session.DATASET]
    assert good.name == "good.csv"
    wide = (",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + ",".join(["1"] * (MAX_COLUMNS + 1)) + "\n")
    cases = [*BAD_FILES, ("wide.csv", wide.encode(), [f"the limit is {MAX_COLUMNS:,}"])]
    for name, data, fragments in cases:
        if not name.endswith((".csv", ".tsv", ".txt")):
            continue  # st.file_uploader(type=...) itself refuses other extensions
        _upload(at, name, data)
        errors = " ".join(_errors(at))
        for fragment in fragments:
            assert fragment in errors, (name, errors)
        assert at.session_state[session.DATASET] is good, name
        assert any("still **good.csv**" in c.value for c in at.caption), name
    # the last good table is still the one shown and chosen from
    assert _table_with(at, "colour").shape == (10, 4)


def test_upload_size_limit_message_gives_the_limit(open_page) -> None:
    at = _upload(open_page(PAGE), "good.csv", CSV)
    good = at.session_state[session.DATASET]
    too_big = b"y\n" + b"1\n" * (MAX_UPLOAD_MB * 2**19)  # MAX_UPLOAD_MB MB + 2 bytes
    _upload(at, "huge.csv", too_big)
    assert any(f"uploads are limited to {MAX_UPLOAD_MB} MB" in e for e in _errors(at))
    assert at.session_state[session.DATASET] is good
    assert any("still **good.csv**" in c.value for c in at.caption)


def test_bad_target_choices_keep_the_previous_dataset(open_page) -> None:
    data = b"a,b,label,same,kind\n1,2,x,5,k\n3,4,y,5,k\n5,7,x,5,k\n"
    at = _upload(open_page(PAGE), "t.csv", data)
    good = at.session_state[session.DATASET]
    assert good.target_names == ["b"]  # 3 rows are too few for label's 2 classes: the last numeric column that varies
    at.selectbox(key="data.target").set_value("kind").run()
    assert any("target 'kind' has the same value (k)" in e for e in _errors(at))
    assert at.session_state[session.DATASET] is good
    assert any("still **t.csv**" in c.value for c in at.caption)
    at.selectbox(key="data.target").set_value("same").run()
    assert any("target 'same' has the same value (5)" in e for e in _errors(at))
    assert at.session_state[session.DATASET] is good
    at.multiselect(key="data.features").set_value([]).run()
    at.selectbox(key="data.target").set_value("b").run()
    assert any("at least one feature" in e for e in _errors(at))
    assert at.session_state[session.DATASET] is good


def test_page_show_code_rebuilds_the_shown_batches(open_page, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    at = _upload(open_page(PAGE), "shapes.csv", CSV)
    at.multiselect(key="data.features").set_value(["colour", "width"]).run()
    at.number_input(key="data.batch_size").set_value(3).run()
    at.number_input(key="data.epoch").set_value(2).run()
    code = next(c.value for c in at.code if "DataLoader(dataset" in c.value)
    (tmp_path / "shapes.csv").write_bytes(CSV)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # the page's own generated code: dataset from the CSV, loader, loop to epoch 2
    ds, (_, view, _) = at.session_state[session.DATASET], at.session_state["data.view"]
    assert torch.equal(namespace["dataset"].features, ds.features)
    assert len(namespace["viewed"]) == len(view.batches) == 4
    for (x, y), shown in zip(namespace["viewed"], view.batches):
        assert torch.equal(x[:HEAD_ROWS], shown.features) and torch.equal(y[:HEAD_ROWS], shown.targets)
    # The "print one batch" block is what those print() calls really write for the first batch.
    printed = next(c.value for c in at.code if c.value.startswith(">>> print(x_batch.shape"))
    x, y = namespace["viewed"][0]
    out = io.StringIO()
    print(x.shape, y.shape, file=out)
    print(x, file=out)
    print(y, end="", file=out)
    assert [line for line in printed.splitlines() if not line.startswith(">>> ")] == out.getvalue().splitlines()
    assert "torch.Size([3, 4]) torch.Size([3, 1])" in printed  # width and three one-hot colours


def test_rows_to_use_samples_the_upload_and_its_code_does_too(open_page, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    at = _upload(open_page(PAGE), "shapes.csv", CSV)
    rows = at.number_input(key="data.rows")
    assert rows.value == 10 and rows.max == 10  # every row by default, capped at the table's rows
    rows.set_value(6).run()
    assert not at.exception and not _errors(at)
    ds = at.session_state[session.DATASET]
    frame = pd.read_csv(io.BytesIO(CSV))
    sample = frame.sample(n=6, random_state=SAMPLE_SEED).sort_index()
    assert len(ds) == 6 and ds.features[:, 0].tolist() == sample["height"].tolist()
    assert _metrics(at)["Rows kept"] == "6 of 10"
    assert any("a random sample of 6 of the 10 rows" in c.value for c in at.caption)
    assert _metrics(at)["Batches per epoch"] == "3"  # ceil(6 / 2): the loader batches the sample
    code = at.session_state["data.code"]
    assert "frame.sample(n=6, random_state=0).sort_index()" in code
    (tmp_path / "shapes.csv").write_bytes(CSV)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # the page's own generated code
    assert torch.equal(namespace["dataset"].features, ds.features)

    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.number_input(key="data.rows").value == 6 and len(at.session_state[session.DATASET]) == 6
    at.number_input(key="data.rows").set_value(3).run()  # too few rows to hold every class of a text target
    at.selectbox(key="data.target").set_value("colour").run()
    warning = " ".join(w.value for w in at.warning)
    assert "The random sample of 3 rows holds no row of class green" in warning and "Use more rows" in warning
    assert at.session_state[session.DATASET].target_names == ["colour=blue", "colour=red"]
    _upload(at, "iris.csv", IRIS)  # a new file starts from all of its rows
    assert at.number_input(key="data.rows").value == 9 and len(at.session_state[session.DATASET]) == 8


def test_preview_shows_missing_cells_as_pandas_prints_them(open_page) -> None:
    gaps = b"a,b,label\n1,2.5,cat\n,3.25,\n3,,dog\n4,1e-07,cat\n5,6,dog\n"
    at = _upload(open_page(PAGE), "gaps.csv", gaps)
    preview = _table_with(at, "label")
    # NaN, not the "None" st.dataframe prints for a missing value; the numbers as the file wrote them.
    assert preview["a"].tolist() == ["1", "NaN", "3", "4", "5"]
    assert preview["b"].tolist() == ["2.5", "3.25", "NaN", "1e-07", "6"]
    assert preview["label"].tolist() == ["cat", "NaN", "dog", "cat", "dog"]
    assert _metrics(at)["Rows kept"] == "3 of 5"  # the gaps are real: "drop rows" drops them
    captions = " ".join(c.value for c in at.caption)
    assert "1 row dropped: target missing" in captions and "1 row dropped: a feature missing" in captions
    at.radio(key="data.missing").set_value("fill with mean").run()
    # Over the 4 rows that have a label: b's mean is (2.5 + 1e-07 + 6) / 3, not the profile's 2.938 (with 3.25).
    captions = " ".join(c.value for c in at.caption)
    assert "1 gap in 'b' filled with 2.833, the mean of its values" in captions
    assert "the means are over all 4 rows kept, the Training page's validation rows among them" in captions


def test_choices_survive_a_visit_to_another_page(open_page) -> None:
    at = _upload(open_page(PAGE), "shapes.csv", CSV)
    at.multiselect(key="data.features").set_value(["width"]).run()
    at.number_input(key="data.batch_size").set_value(5).run()
    chosen = at.session_state[session.DATASET]
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.session_state[session.DATASET] is chosen
    assert at.multiselect(key="data.features").value == ["width"]
    assert at.number_input(key="data.batch_size").value == 5
    assert _metrics(at)["Batches per epoch"] == "2"


def test_iris_upload_one_hot_encodes_species(open_page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _upload(open_page(PAGE), "iris.csv", IRIS)
    assert not _errors(at) and not at.exception
    ds = at.session_state[session.DATASET]
    assert ds.target_names == ["species=setosa", "species=versicolor", "species=virginica"]
    assert ds.targets.shape == (8, 3) and ds.n_features == 4
    assert at.selectbox(key="data.target").value == "species"
    assert _metrics(at)["Target (3 classes)"] == "species" and _metrics(at)["Rows kept"] == "8 of 9"
    assert any("target 'species' one-hot encoded into 3 classes: setosa, versicolor, virginica" in c.value
               and "nn.CrossEntropyLoss" in c.value and "y.argmax(1)" in c.value for c in at.caption)
    head = _table_with(at, "class = y.argmax(1)")
    assert head["class = y.argmax(1)"].tolist()[:3] == IRIS_CLASSES
    # next to the index, where a wide table cannot push it off the right edge
    assert list(head.columns)[:3] == ["sample index", "class = y.argmax(1)", "x: sepal_length"]
    assert head["y: species=versicolor"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert _table_with(at, "row")["class = y.argmax(1)"].isin(IRIS_CLASSES).all()  # the batch tensors too
    assert len(at.get("plotly_chart")) == 1  # four features: no scatter, the batch grid only
    code = next(c.value for c in at.code if "DataLoader(dataset" in c.value)
    (tmp_path / "iris.csv").write_bytes(IRIS)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)
    assert torch.equal(namespace["dataset"].targets, ds.targets)
    _, view, _ = at.session_state["data.view"]
    for (x, y), shown in zip(namespace["viewed"], view.batches, strict=True):
        assert torch.equal(x, shown.features) and torch.equal(y, shown.targets) and y.shape[1] == 3

    at.multiselect(key="data.features").set_value(["petal_length", "petal_width"]).run()
    assert not at.exception
    scatter = at.get("plotly_chart")[0].proto.spec
    assert all(f'"species={c}"' in scatter for c in IRIS_CLASSES)


def test_three_classes_builtin_on_the_page(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="data.builtin").set_value("three_class").run()
    assert not at.exception
    ds = at.session_state[session.DATASET]
    assert ds.targets.shape == (100, 3) and ds.target_names == ["class=a", "class=b", "class=c"]
    assert "one_hot(labels, 3)" in at.session_state["data.code"]
    assert len(at.get("plotly_chart")) == 2 and '"class=c"' in at.get("plotly_chart")[0].proto.spec


@pytest.mark.browser
def test_upload_in_a_real_browser_shows_preview_and_batches(page, tmp_path: Path) -> None:
    path = tmp_path / "shapes.csv"
    path.write_bytes(CSV)
    upload_csv(page, path)
    text = main_text(page)
    assert "shapes.csv" in text and "comma-separated, UTF-8" in text
    assert "colour" in text and "weight" in text  # preview and profile tables rendered
    assert "ceil(10 / 2) = 5" in text
    assert "Every batch of epoch 0" in text
    assert page.get_by_test_id("stDataFrame").count() >= 4  # preview, profile, dataset head, batches
    assert page.locator(".js-plotly-plot").count() >= 1
    expected = torch.tensor([[1.0, 2.0]])  # first row as the dataset shows it: height, width
    assert f"{expected[0, 0]:g}" in text
    fill(page, "Rows to use", "6")  # a random 6 of the 10 rows: the loader now batches those
    main = page.get_by_test_id("stMain")
    for shown in ("6 of 10", "a random sample of 6 of the 10 rows", "ceil(6 / 2) = 3"):
        expect(main).to_contain_text(shown)


def test_upload_from_excel_on_windows_reads_as_windows_1252(open_page) -> None:
    text = "Größe,Preis €\n1.5,2\n2.5,4\n3.5,7\n"  # € is byte 0x80: Windows-1252, not UTF-8 or Latin-1
    at = _upload(open_page(PAGE), "excel.csv", text.encode("cp1252"))
    assert not _errors(at)
    assert any("comma-separated, Windows-1252" in c.value for c in at.caption)
    assert _table_with(at, "Preis €")["Größe"].tolist()[:3] == [1.5, 2.5, 3.5]
    assert "encoding='cp1252'" in at.session_state["data.code"]


# ---------------------------------------------------------------- review fixes


def test_mean_fill_says_what_became_of_a_gap_in_a_text_feature(open_page) -> None:
    from tests.test_data_prep import SEMI

    at = _upload(open_page(PAGE), "semi.csv", SEMI)
    at.multiselect(key="data.features").set_value(["size", "weight", "colour"]).run()
    at.radio(key="data.missing").set_value("fill with mean").run()
    assert not at.exception and not _errors(at)
    captions = " ".join(c.value for c in at.caption)
    mean = pd.Series([2, 4.25, 5, 6.5, 7, 8.5, 9]).mean()
    assert f"1 gap in 'weight' filled with {mean:.4g}, the mean of its values" in captions
    assert "the means are over all 8 rows kept" in captions
    assert ("the 1 gap in text column 'colour' became an all-zero one-hot row (no category: 0 in every "
            "'colour_…' column)") in captions
    ds = at.session_state[session.DATASET]
    assert _metrics(at)["Rows kept"] == "8 of 8"
    assert ds.features[6, ds.feature_names.index("colour_red")].item() == 0.0
    assert "a missing value gets 0 in all of them" in at.session_state["data.code"]


@pytest.mark.parametrize(("batch_size", "drop_last", "formula", "rule"), [
    (100, False, "ceil(100 / 100) = 1", "no remainder: 100 / 100 is a whole number, so every batch is full"),
    (100, True, "floor(100 / 100) = 1", "no remainder: 100 / 100 is a whole number, so every batch is full"),
    (25, False, "ceil(100 / 25) = 4", "no remainder: 100 / 25 is a whole number"),
    (30, False, "ceil(100 / 30) = 4", "rounded up: the remainder of 10 samples makes a last, shorter batch"),
    (30, True, "floor(100 / 30) = 3", "rounded down: drop_last=True skips the remainder of 10 samples"),
    (33, False, "ceil(100 / 33) = 4", "rounded up: the remainder of 1 sample makes a last, shorter batch"),
])
def test_loader_rule_names_a_remainder_only_when_there_is_one(open_page, batch_size: int, drop_last: bool,
                                                             formula: str, rule: str) -> None:
    at = open_page(PAGE)
    at.selectbox(key="data.builtin").set_value("line").run()
    at.number_input(key="data.batch_size").set_value(batch_size).run()
    if drop_last:
        at.checkbox(key="data.drop_last").check().run()
    assert not at.exception and not _errors(at)
    line = next(m.value for m in at.markdown if m.value.startswith("`len(loader)`"))
    assert f"**{formula}** ({rule}" in line
    assert _metrics(at)["Batches per epoch"] == formula.split(" = ")[1]
    if "no remainder" in rule:
        assert "rounded" not in line and "remainder makes" not in line


def test_whole_number_target_can_be_treated_as_classes(open_page, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_data_prep import CODED

    at = _upload(open_page(PAGE), "coded.csv", CODED)
    assert at.selectbox(key="data.target").value == "species"
    box = at.checkbox(key="data.class_codes")
    assert box.label == "Treat the target's whole numbers as class labels" and not box.value
    assert at.session_state[session.DATASET].target_names == ["species"]  # unticked: numbers to fit
    box.check().run()
    assert not at.exception and not _errors(at)
    ds = at.session_state[session.DATASET]
    assert ds.target_names == ["species=0", "species=1", "species=2", "species=10"]
    assert ds.targets.argmax(1).tolist() == [0, 1, 2, 0, 1, 2, 3, 0]
    assert _metrics(at)["Target (4 classes)"] == "species"
    assert any("target 'species' (its whole numbers as class labels) one-hot encoded into 4 classes: 0, 1, 2, 10"
               in c.value for c in at.caption)
    code = next(c.value for c in at.code if "DataLoader(dataset" in c.value)
    (tmp_path / "coded.csv").write_bytes(CODED)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # the page's own generated code
    assert torch.equal(namespace["dataset"].targets, ds.targets)
    # A text target is classes already: no box to tick.
    _upload(at, "iris.csv", IRIS)
    assert not [c for c in at.checkbox if c.key == "data.class_codes"]
    assert at.session_state["data.class_codes"] is False  # a new file starts unticked


def test_mean_of_a_column_with_inf_is_named_on_the_page(open_page) -> None:
    at = _upload(open_page(PAGE), "inf.csv", b"a,b,y\n,1,1\n-inf,2,2\n3,3,3\n4,4,5\n")
    assert any("Column 'a' has 1 value that float32 cannot hold (the first in row 1" in e for e in _errors(at))
    at.radio(key="data.missing").set_value("fill with mean").run()
    errors = _errors(at)
    assert len(errors) == 1 and "The mean of feature column 'a' is -inf, which float32 cannot hold" in errors[0]


def test_a_refused_first_upload_is_not_followed_by_upload_a_file(open_page) -> None:
    at = _upload(open_page(PAGE), "one.csv", b"a,b\n1,2\n")
    assert len(_errors(at)) == 1 and "one.csv" in _errors(at)[0]
    assert not any("Upload a file to see it become a Dataset" in i.value for i in at.info)
    assert any("still **" in c.value for c in at.caption)  # which dataset stays in use


def test_true_false_columns_say_how_they_became_numbers(open_page) -> None:
    rows = "\n".join(f"{i},{'true' if i % 3 else 'false'},{'true' if i % 2 else 'false'}" for i in range(12))
    at = _upload(open_page(PAGE), "exam.csv", f"hours,slept,passed\n{rows}\n".encode())
    assert not _errors(at)
    ds = at.session_state[session.DATASET]
    assert ds.target_names == ["passed"] and ds.targets[:4, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    captions = " ".join(c.value for c in at.caption)
    assert "'passed' read as numbers: true → 1.0, false → 0.0" in captions
    assert "'slept' read as numbers: true → 1.0, false → 0.0" in captions


def test_batch_grid_title_fits_a_phone_wide_chart() -> None:
    # One long title line ran off the right edge at 420 px, losing what grey meant.
    grid = np.array([[0, 0, 1, 1, -1], [1, 0, 0, 1, -1]])
    title = batch_grid_figure(grid, 1_000).layout.title.text
    lines = [re.sub(r"<[^>]+>", "", line) for line in title.split("<br>")]
    assert "dark grey × = dropped" in lines[-1] and "samples 0-4 of 1,000" in title
    assert all(len(line) <= 50 for line in lines), lines


def test_a_column_picked_as_target_leaves_the_features_box(open_page) -> None:
    at = _upload(open_page(PAGE), "houses.csv", b"size,age,price\n1,2,3\n2,3,5\n3,1,4\n4,4,9\n")
    assert at.selectbox(key="data.target").value == "price"
    # Profiled as pandas read it (int64), kept in the session as uint8: the same values in an eighth of the bytes.
    assert _table_with(at, "missing").set_index("column").loc["size", "dtype"] == "int64"
    assert str(at.session_state["data.table"].table.frame["size"].dtype) == "uint8"
    assert at.multiselect(key="data.features").value == ["size", "age"]
    at.selectbox(key="data.target").set_value("age").run()
    # It was shown as a feature while the dataset silently left it out.
    assert at.multiselect(key="data.features").value == ["size"]
    assert at.session_state[session.DATASET].feature_names == ["size"]
    # Nor can it be picked back: the target is not among the options (picked, it was dropped without a word).
    assert at.multiselect(key="data.features").options == ["size", "price"]
    at.multiselect(key="data.features").set_value(["size", "price"]).run()
    assert at.session_state[session.DATASET].feature_names == ["size", "price"]
    assert "Every column but the target ('age')" in at.multiselect(key="data.features").help


@pytest.mark.browser
def test_a_files_own_markdown_and_html_stay_text(page, tmp_path: Path) -> None:
    # Class labels and column names are the file's: a link or image in them became a live link in a caption,
    # a picture fetched from anywhere, or a clickable link in a chart's axis title.
    link, image = "[click me](https://evil.example/phish)", "![t](https://evil.example/track.png)"
    axis = '<a href="https://evil.example/plotly">x1</a>'
    rows = [f'"{axis}",x2,label'] + [f"{i},{i % 3},{[link, image, 'www.evil.example'][i % 3]}" for i in range(30)]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(rows) + "\n")
    upload_csv(page, path, target="label")
    text = main_text(page)
    assert "click me" in text and "evil.example/track.png" in text  # shown as typed
    assert page.locator('[data-testid="stMain"] a[href*="evil.example"]').count() == 0
    assert page.locator('img[src*="evil.example"]').count() == 0
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 1 and "evil.example/plotly" in charts.first.inner_text()  # the title, as typed
    # Plotly draws a title's link as an SVG <a> with xlink:href: no such element, whatever its attribute.
    links = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot a')]
        .map(a => (a.getAttribute('href') || '') + (a.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || ''))""")
    assert not [href for href in links if "evil.example" in href], links

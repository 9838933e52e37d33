"""Unusual CSVs a learner may upload: each reads right or gets a message, never a traceback or wrong numbers."""

from __future__ import annotations

import io
import runpy
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.test_data_page import PAGE, _errors, _upload
from torchstart import data_code, data_prep, session
from torchstart.csv_loading import HEAD_BYTES, load_csv, name_blank_columns
from torchstart.data_prep import PrepChoices, default_choices, left_out_notes, prepare, stray_text_columns
from torchstart.errors import TorchstartError


def _show_code_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes):
    """Load, prepare with the default choices, run the printed Show code; return (page result, code's dataset)."""
    table = load_csv(data, name)
    choices = default_choices(table.frame)
    result = prepare(table.frame, choices, name)
    code = data_code.csv_code(name, table.format, choices, result.numeric_features, result.text_features,
                              result.classes)
    (tmp_path / name).write_bytes(data)
    (tmp_path / "code.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    return result, runpy.run_path(str(tmp_path / "code.py"))["dataset"]


def test_old_mac_line_endings_read_like_newlines() -> None:
    # CR-only line ends (classic Mac, some exporters) crashed the delimiter sniffer with csv.Error.
    table = load_csv(b"a,b,y\r1,2,3\r4,5,6\r7,8,10\r", "mac.csv")
    assert table.frame.to_dict("list") == {"a": [1, 4, 7], "b": [2, 5, 8], "y": [3, 6, 10]}


def test_ragged_row_with_a_huge_value_still_gets_the_ragged_message() -> None:
    # The line-naming pass hit csv's 131,072-character field limit and raised csv.Error.
    data = b"a,y\n1,2\n3,4\n" + b"x" * 200_000 + b",5,6\n"
    with pytest.raises(TorchstartError, match="different numbers of values than the header"):
        load_csv(data, "ragged.csv")


def test_blank_header_cells_are_named_by_position_whatever_the_reader() -> None:
    # Some pandas releases' pyarrow engine leave them "", and two "" made frame[""] a DataFrame (a crash).
    frame = pd.DataFrame([[1, 2, 3, 4]], columns=["a", "", " ", "y"])
    assert list(name_blank_columns(frame).columns) == ["a", "Unnamed: 1", "Unnamed: 2", "y"]


def test_two_trailing_empty_columns_are_not_called_duplicates() -> None:
    # Excel leaves "a,b,y,," when cells to the right were once used; pandas names them Unnamed: 3 and 4.
    table = load_csv(b"a,b,y,,\n1,2,3,,\n4,5,6,,\n7,8,10,,\n", "excel.csv")
    assert list(table.frame.columns) == ["a", "b", "y", "Unnamed: 3", "Unnamed: 4"]
    result = prepare(table.frame, default_choices(table.frame), "excel.csv")
    assert result.dataset.feature_names == ["a", "b"] and result.dataset.targets.flatten().tolist() == [3, 6, 10]
    with pytest.raises(TorchstartError, match="duplicate column names: 'a'"):
        load_csv(b"a,,a\n1,2,3\n4,5,6\n", "dupes.csv")


DECIMAL_COMMA = b"height;width;weight\n1,5;2,25;3\n2,5;1,0;4\n3,25;2,5;7\n"


def test_decimal_commas_become_numbers_not_one_hot_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Excel where the comma is the decimal sign writes "1,5" separated by ";": read as text, every
    # number was one-hot encoded into its own column.
    table = load_csv(DECIMAL_COMMA, "europe.csv")
    assert table.format.decimal == "," and table.format.describe() == "semicolon-separated, UTF-8, decimal commas"
    assert table.frame["height"].tolist() == [1.5, 2.5, 3.25] and table.frame["width"].tolist() == [2.25, 1.0, 2.5]
    result, shown = _show_code_dataset(tmp_path, monkeypatch, "europe.csv", DECIMAL_COMMA)
    assert result.dataset.feature_names == ["height", "width"] and result.encoded == {}
    assert result.dataset.features.tolist() == [[1.5, 2.25], [2.5, 1.0], [3.25, 2.5]]
    assert torch.equal(shown.features, result.dataset.features) and torch.equal(shown.targets, result.dataset.targets)
    assert "decimal=','" in data_code.csv_code("europe.csv", table.format, default_choices(table.frame), [], [])


def test_decimal_commas_with_grouped_thousands_alone_become_numbers(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # German Excel money: no column held a plain 12,5, so "1.234,56" was never taken for a decimal comma,
    # and the rents became five one-row classes.
    data = "Zimmer;Miete\r\n1;812,50\r\n2;1.234,56\r\n3;1.980,00\r\n2;950,10\r\n4;2.310,75\r\n".encode()
    table = load_csv(data, "miete.csv")
    assert table.format.decimal == "," and table.format.grouped == ("Miete",)
    assert table.frame["Miete"].tolist() == pytest.approx([812.5, 1234.56, 1980.0, 950.1, 2310.75])
    assert default_choices(table.frame, table.format.decimal).target == "Miete"
    result, shown = _show_code_dataset(tmp_path, monkeypatch, "miete.csv", data)
    assert torch.equal(shown.targets, result.dataset.targets) and torch.equal(shown.features, result.dataset.features)
    # Every price a thousand or more: the whole column is grouped, and 1.234 alone still means 1234 there.
    thousands = b"Flaeche;Preis\n50;1.250,00\n70;2.100\n90;3.050,50\n"
    assert load_csv(thousands, "preis.csv").frame["Preis"].tolist() == [1250.0, 2100.0, 3050.5]


def test_large_decimal_comma_file_matches_pandas() -> None:
    data = b"a;b;y\n" + b"".join(f"{i},5;{i % 7},25;{i}\n".encode() for i in range(20_000))
    assert len(data) > HEAD_BYTES  # the fixed-type fast path reads it
    table = load_csv(data, "big.csv")
    assert table.frame.equals(pd.read_csv(io.BytesIO(data), sep=";", decimal=",", engine="pyarrow"))
    assert table.frame.loc[3].tolist() == [3.5, 3.25, 3.0]


def test_decimal_comma_read_is_kept_only_when_it_finds_more_numbers() -> None:
    table = load_csv(b"a;b;y\n1,5;1.5;3\n2,5;2.5;4\n", "mixed.csv")  # one column each way: keep the usual read
    assert table.format.decimal == "." and table.frame["b"].tolist() == [1.5, 2.5]
    table = load_csv(b"a,b,y\n\"1,5\",2,3\n\"2,5\",3,4\n", "quoted.csv")  # commas separate: never decimal commas
    assert table.format.decimal == "." and table.frame["a"].tolist() == ["1,5", "2,5"]


@pytest.mark.parametrize(("data", "column", "count"), [
    (b"a,y\n1,3\ninf,6\n7,10\n", "a", 1),
    (b"a,y\n1,3\n2,-inf\n7,10\n", "y", 1),
    (b"a,y\n1e308,3\n1e308,6\n-1e308,10\n", "a", 3),  # a float64 that overflows float32 to inf
    (b"a,y\n1,1e39\n2,5\n3,10\n", "y", 1),
])
def test_values_float32_cannot_hold_are_refused(data: bytes, column: str, count: int) -> None:
    table = load_csv(data, "big.csv")
    with pytest.raises(TorchstartError) as err:
        prepare(table.frame, PrepChoices(("a",), "y"), "big.csv")
    message = str(err.value)
    assert f"Column '{column}' has {count} value" in message and "float32 cannot hold" in message
    assert "3.4e38" in message and "Fix or remove those values" in message
    # 1e38 still fits float32: kept as it is
    ok = prepare(load_csv(b"a,y\n1e38,3\n2,6\n3,10\n", "ok.csv").frame, PrepChoices(("a",), "y"))
    assert ok.dataset.features[0, 0].item() == pytest.approx(1e38, rel=1e-6)


def test_one_hot_tensor_size_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"colour": ["red", "blue", "green"] * 4, "y": range(12)})
    monkeypatch.setattr(data_prep, "MAX_FEATURE_CELLS", 35)
    with pytest.raises(TorchstartError, match=r"12 × 3 feature tensor \(36 numbers\); the limit is 35"):
        prepare(frame, PrepChoices(("colour",), "y"))
    monkeypatch.setattr(data_prep, "MAX_FEATURE_CELLS", 36)
    assert prepare(frame, PrepChoices(("colour",), "y")).dataset.features.shape == (12, 3)
    assert data_prep.MAX_FEATURE_CELLS == 36


def test_page_reads_mac_line_ends_and_decimal_commas(open_page) -> None:
    at = _upload(open_page(PAGE), "mac.csv", b"a,b,y\r1,2,3\r4,5,6\r7,8,10\r")
    assert not _errors(at)
    assert at.session_state[session.DATASET].features.tolist() == [[1, 2], [4, 5], [7, 8]]
    at = _upload(at, "europe.csv", DECIMAL_COMMA)
    assert not _errors(at)
    ds = at.session_state[session.DATASET]
    assert ds.feature_names == ["height", "width"] and ds.features[2].tolist() == [3.25, 2.5]
    assert any("decimal commas" in c.value for c in at.caption)


def test_page_refuses_inf_and_keeps_the_previous_dataset(open_page) -> None:
    at = _upload(open_page(PAGE), "good.csv", b"a,y\n1,3\n2,6\n3,10\n")
    at = _upload(at, "inf.csv", b"a,y\n1,3\ninf,6\n7,10\n")
    errors = _errors(at)
    assert len(errors) == 1 and "Column 'a' has 1 value that float32 cannot hold" in errors[0]
    ds = at.session_state[session.DATASET]
    assert ds.name == "good.csv" and ds.features.flatten().tolist() == [1, 2, 3]
    assert any("still **good.csv** (3 rows, predicting y)" in c.value for c in at.caption)


def test_a_one_column_csv_says_so_and_keeps_the_previous_dataset(open_page) -> None:
    at = _upload(open_page(PAGE), "good.csv", b"a,label\n1,cat\n2,dog\n3,cat\n")
    at = _upload(at, "one.csv", b"x\n1\n2\n3\n")
    errors = _errors(at)
    assert len(errors) == 1 and "one.csv has a single column, 'x'" in errors[0], errors
    assert at.session_state[session.DATASET].name == "good.csv"
    # a class target is named by its column, not by its one-hot columns
    assert any("still **good.csv** (3 rows, predicting label)" in c.value for c in at.caption)
    # Refused as it loads, the one-column table is not kept to repeat its error under the next refused file.
    at = _upload(at, "text.csv", b"name,city\nann,paris\nbob,rome\n")
    errors = _errors(at)
    assert len(errors) == 1 and "text.csv has no numeric column" in errors[0], errors
    assert not any("one.csv" in c.value for c in at.caption)


def _numbers_with(stray: dict[int, str], rows: int = 40) -> bytes:
    """A CSV whose column 'a' holds numbers except the given cells (row -> text); 'b' is plain text."""
    lines = ["a,b,y"] + [f"{stray.get(i, i * 0.5)},{'cat' if i % 2 else 'dog'},{i}" for i in range(rows)]
    return "\n".join(lines).encode()


@pytest.mark.parametrize("stray, shown", [
    ({4: "x"}, "1 is not, e.g. 'x' (row 4)"),
    ({1: "10%", 7: "$3", 9: '"1,000"', 30: "n/a?"}, "4 are not, e.g. '10%' (row 1), '$3' (row 7), '1,000' (row 9) and "
                                                   "1 more"),
])
def test_a_number_column_with_a_few_text_cells_is_pointed_out(stray: dict[int, str], shown: str) -> None:
    frame = load_csv(_numbers_with(stray), "f.csv").frame
    assert str(frame["a"].dtype) != "float64"  # pandas did read the whole column as text
    (found,) = stray_text_columns(frame)  # 'b' is plain text: not reported
    assert (found.column, found.numbers, found.values) == ("a", 40 - len(stray), 40)
    assert shown in found.message() and "Fix those cells in the file" in found.message()


def _decimal_comma_with(stray: str, rows: int = 30) -> bytes:
    """A semicolon, decimal-comma file (Excel in a German locale) whose 'fläche' holds one stray cell on row 5."""
    lines = ["fläche;zimmer;lage;preis"] + [f"{50 + i},5;{i % 4 + 1};{'AB'[i % 2]};{1000 + i * 7},25"
                                            for i in range(rows)]
    lines[6] = f"{stray};2;A;1040,25"
    return "\n".join(lines).encode()


def test_a_stray_cell_in_a_decimal_comma_column_is_pointed_out_and_the_column_is_not_a_category(open_page) -> None:
    # pd.to_numeric does not read "50,5": the column looked like plain text, so no warning came, and with a few
    # repeated values it would have been one-hot encoded by default.
    table = load_csv(_decimal_comma_with("-"), "wohnungen.csv")
    assert table.format.decimal == "," and str(table.frame["fläche"].dtype) != "float64"
    (found,) = stray_text_columns(table.frame, ",")  # 'lage' (A/B) is plain text: not reported
    assert (found.column, found.numbers, found.values, found.examples) == ("fläche", 29, 30, ((5, "-"),))
    assert stray_text_columns(table.frame) == []  # read with the point, as before: nothing found
    # Three sizes, each on many rows, look like a category unless the page sees them as numbers.
    few = load_csv("\n".join(["fläche;lage;zimmer;preis", "-;A;1;3"] +
                             [f"{50 + i % 3},5;{'AB'[i % 2]};{i % 4};{i}" for i in range(20)]).encode(), "few.csv")
    assert default_choices(few.frame, ",").features == ("lage", "zimmer")
    assert "fläche" in default_choices(few.frame).features  # read with the point: one-hot encoded
    at = _upload(open_page(PAGE), "wohnungen.csv", _decimal_comma_with("-"))
    warnings = [w.value for w in at.warning if "is read as text" in w.value]
    assert len(warnings) == 1 and "Column 'fläche'" in warnings[0] and "'-' (row 5)" in warnings[0]


@pytest.mark.parametrize("csv", [
    b"a,y\n1,2\n2,3\n",  # all numbers
    b"a,y\ncat,1\ndog,2\n1,3\n",  # mostly text, one number
    b"a,y\n,1\n,2\n",  # all missing
])
def test_columns_that_are_not_mostly_numbers_are_left_alone(csv: bytes) -> None:
    assert stray_text_columns(load_csv(csv, "f.csv").frame) == []


def test_page_warns_about_the_cells_that_made_a_column_text(open_page) -> None:
    at = _upload(open_page(PAGE), "typo.csv", _numbers_with({4: "x"}))
    warnings = [w.value for w in at.warning if "is read as text" in w.value]
    assert len(warnings) == 1 and "Column 'a'" in warnings[0] and "'x' (row 4)" in warnings[0]


def test_a_one_hot_column_named_like_a_chosen_column_is_refused_until_one_is_left_out(open_page) -> None:
    # Partly encoded files (Kaggle's 'Sex' beside 'Sex_male'): get_dummies made a second 'colour_red' feature,
    # and the page's tables crashed on the duplicate name.
    rows = [f"{c},{int(c == 'red')},{i},{2 * i}" for i, c in enumerate(["red", "blue", "green", "red"] * 3)]
    at = _upload(open_page(PAGE), "good.csv", b"a,y\n1,3\n2,6\n3,10\n")
    at = _upload(at, "dup.csv", "\n".join(["colour,colour_red,size,price"] + rows).encode())
    assert not at.exception
    errors = _errors(at)
    assert len(errors) == 1 and "One-hot encoding 'colour' makes a column named 'colour_red'" in errors[0], errors
    assert at.session_state[session.DATASET].name == "good.csv"
    at.multiselect(key="data.features").set_value(["colour", "size"]).run()
    assert not at.exception and not _errors(at)
    ds = at.session_state[session.DATASET]
    assert ds.name == "dup.csv" and ds.feature_names == ["size", "colour_blue", "colour_green", "colour_red"]
    assert ds.features[0].tolist() == [0, 0, 0, 1]


def test_the_index_pandas_writes_is_not_a_default_feature_and_the_page_says_why(open_page) -> None:
    frame = pd.DataFrame({"x": [i * 0.5 for i in range(30)], "y": [i * 2.0 + 1 for i in range(30)]})
    saved = frame.to_csv().encode()  # no index=False: a first column "" of 0..29, read as 'Unnamed: 0'
    table = load_csv(saved, "saved.csv")
    assert list(table.frame.columns) == ["Unnamed: 0", "x", "y"]
    assert default_choices(table.frame) == PrepChoices(("x",), "y")
    # Row numbers from 1, and a text feature beside them, are the same index; a named or shuffled column is data.
    assert default_choices(pd.DataFrame({"Unnamed: 0": range(1, 9), "c": list("abab" * 2), "y": range(8)})
                           ).features == ("c",)
    for kept in (pd.DataFrame({"step": range(8), "y": range(8)}),
                 pd.DataFrame({"Unnamed: 0": [1, 0, 2, 3, 4, 5, 6, 7], "y": range(8)})):
        assert kept.columns[0] in default_choices(kept).features
    at = _upload(open_page(PAGE), "saved.csv", saved)
    assert at.session_state[session.DATASET].feature_names == ["x"]
    notes = [i.value for i in at.info if "row numbers 0, 1, ..." in i.value]
    assert len(notes) == 1 and "`index=False`" in notes[0] and "Column 'Unnamed: 0'" in notes[0]



@pytest.mark.parametrize("name", ["id", "ID", "customer id", "customer_id", "CustomerID", "row_index", "index"])
def test_an_id_column_is_not_a_default_feature_and_the_page_says_why(name: str) -> None:
    frame = pd.DataFrame({name: range(1000, 1012), "age": [20 + i % 5 for i in range(12)],
                          "spend": [i * 1.5 for i in range(12)]})
    assert default_choices(frame) == PrepChoices(("age",), "spend")
    (note,) = left_out_notes(frame)
    assert note.startswith(f"Column '{name}' looks like an identifier") and "add it below" in note


def test_id_like_columns_that_are_data_stay_features() -> None:
    # Repeated values, fractions or an ordinary name ("paid", "valid") are data, however they are named.
    for kept in (pd.DataFrame({"store_id": [1, 2, 1, 2, 3, 3], "y": range(6)}),
                 pd.DataFrame({"id": [0.5, 1.5, 2.5, 3.5], "y": range(4)}),
                 pd.DataFrame({"paid": range(6), "valid": range(10, 16), "y": range(6)}),
                 pd.DataFrame({"Body Mass Index": range(6), "ID-Length": range(6), "id_card_count": range(6),
                               "y": range(6)})):
        assert set(kept.columns[:-1]) <= set(default_choices(kept).features) and not left_out_notes(kept)


@pytest.mark.parametrize("csv, column, signs", [
    (b'sqft,price\n1200,"$105,391.00"\n800,"$72,000.50"\n1500,"$131,000.00"\n', "price", "'$' and ','"),
    (b"hours,score\n3,45%\n5,71%\n8,90%\n", "score", "'%'"),
])
def test_numbers_with_currency_or_percent_signs_are_pointed_out(csv: bytes, column: str, signs: str) -> None:
    frame = load_csv(csv, "signs.csv").frame
    (found,) = stray_text_columns(frame)
    assert found.column == column and f"numbers written with {signs}" in found.message()
    assert "Remove the signs" in found.message()
    # Nothing but the text column to learn from: no feature is picked rather than one class per row.
    assert default_choices(frame).features == ()
    with pytest.raises(TorchstartError, match=f"'{column}' holds numbers written with currency or percent signs"):
        prepare(frame, default_choices(frame))
    # As the target: the signs are named, not "some cells".
    with pytest.raises(TorchstartError, match="Remove the signs"):
        prepare(pd.concat([frame] * 20, ignore_index=True).assign(**{column: [f"${i}.00" for i in range(60)]}),
                PrepChoices((frame.columns[0],), column))


def test_a_long_column_of_signed_numbers_is_pointed_out_too() -> None:
    rows = "".join(f'{1000 + i},"${100_000 + i * 37:,}.00"\n' for i in range(1500))  # past the 1,000-row sample
    (found,) = stray_text_columns(load_csv(f"sqft,price\n{rows}".encode(), "long.csv").frame)
    assert found.column == "price" and found.examples[0] == (0, "$100,000.00")


def test_a_date_column_is_not_one_hot_encoded_by_default() -> None:
    days = "".join(f"2024-03-{d:02d},{d * 3 + 1}\n" for d in range(1, 29))
    frame = load_csv(f"date,sales\n{days}".encode(), "daily.csv").frame
    assert default_choices(frame) == PrepChoices((), "sales") and stray_text_columns(frame) == []


def test_a_number_target_made_text_by_stray_cells_points_at_them() -> None:
    ages = [str(20 + i) if i % 17 else "?" for i in range(80)]
    frame = pd.DataFrame({"x": range(80), "Age (yrs)": ages})
    (stray,) = stray_text_columns(frame)
    assert stray.column == "Age (yrs)"
    with pytest.raises(TorchstartError, match="some of its cells are not") as err:
        prepare(frame, PrepChoices(("x",), "Age (yrs)"))
    assert "warning under the column table" in str(err.value)
    # A text column of many names is still told to pick class labels.
    names = pd.DataFrame({"x": range(80), "name": [f"n{i}" for i in range(80)]})
    with pytest.raises(TorchstartError, match="distinct values; a class column here has at most"):
        prepare(names, PrepChoices(("x",), "name"))


def test_classes_that_differ_only_in_case_or_spaces_get_a_warning(open_page) -> None:
    labels = ["yes", "Yes", "YES ", "no", "No", "maybe"]
    rows = "".join(f"{i},{labels[i % 6]}\n" for i in range(36))
    at = _upload(open_page(PAGE), "answers.csv", f"x,answer\n{rows}".encode())
    assert at.session_state[session.DATASET].classes == sorted(labels)
    (warning,) = [w.value for w in at.warning if "differ only in upper/lower case" in w.value]
    # In the classes' sorted order; the trailing space of 'YES ' is shown, since it is the difference.
    assert "('No', 'no'; 'YES ', 'Yes', 'yes')" in warning and "maybe" not in warning


def test_a_header_that_starts_with_a_hash_keeps_the_ragged_row_message() -> None:
    # Pokémon.csv's header is "#,Name,Type 1,...": a real header, so a long row is the problem to name.
    with pytest.raises(TorchstartError, match=r"line 3 has 4 values \('2,b,3,4'\)"):
        load_csv(b"#,name,score\n1,a,2\n2,b,3,4\n3,c,5\n", "pokemon.csv")


def test_fractions_and_phone_numbers_are_no_grouped_thousands() -> None:
    # "0.125" read as the grouped number 125 made a decimal-comma reading look better: 1,234 became 1.234.
    table = load_csv(b"city;population;ratio\nA;1,234;0.125\nB;12,500;0.250\nC;3,400;0.375\n", "f.csv")
    assert table.frame["population"].tolist() == [1234, 12500, 3400]
    assert table.frame["ratio"].tolist() == [0.125, 0.25, 0.375] and table.format.decimal == "."
    phones = load_csv(b"a;phone\n1,5;030.123.456\n2,5;040.555.123\n", "p.csv").frame
    assert phones["phone"].tolist() == ["030.123.456", "040.555.123"]

"""CSV bytes -> DataFrame: format sniffing, the fast numeric path, and every bad file with its message."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from torchstart.csv_loading import (HEAD_BYTES, MAX_COLUMN_NAME, MAX_COLUMNS, MAX_ROWS, MAX_UPLOAD_MB, CsvFormat,
                                    compact_integers, human_size, load_csv, read_numeric_fast, sniff_delimiter)
from torchstart.data_prep import PrepChoices, prepare
from torchstart.errors import TorchstartError

GOOD = b"a,b,y\n1,2,3\n4,5,6\n7,8,9\n"

# (file name, bytes, fragments the message must contain): one row per bad input of the issue.
BAD_FILES = [
    ("empty.csv", b"", ["empty"]),
    ("blank.csv", b"\n  \n\t\n", ["empty"]),
    ("header.csv", b"a,b,y\n", ["header but no data rows"]),
    ("no_newline.csv", b"a,b,y", ["header but no data rows"]),  # pandas: EmptyDataError, not an empty file
    ("one_name.csv", b"a", ["header but no data rows"]),
    ("one_row.csv", b"a,b,y\n1,2,3\n", ["single data row", "at least two"]),
    ("short_row.csv", b"a,b,y\n1,2,3\n4,5\n7,8,9\n", ["different lengths", "line 3 has 2 values", "3 columns"]),
    ("long_row.csv", b"a,b,y\n1,2,3\n4,5,6\n7,8,9,10\n", ["different lengths", "line 4 has 4 values"]),
    ("text.csv", b"name,city\nann,rome\nbob,oslo\n", ["no numeric column", "'name'", "'city'"]),
    ("dupes.csv", b"a,b,a,y\n1,2,3,4\n5,6,7,8\n", ["duplicate column names", "'a'"]),
    # a first line that is no header read as "no numeric column" (every column took "a", "b" as values)
    ("excel_sep.csv", b"sep=;\na;b\n1;2\n3;4\n", ["first line, 'sep=;', is not a header", "Excel",
                                                    "delete that line"]),
    # Three names on the line under "sep=;" are no longer a "ragged row" but the same advice.
    ("excel_sep_wide.csv", b"sep=;\na;b;c\n1;2;3\n4;5;6\n", ["first line, 'sep=;', is not a header",
                                                              "delete that line"]),
    ("one_column.csv", b"value\n0\n1\n1\n", ["one_column.csv has a single column, 'value'",
                                              "two or more columns"]),
    ("comment.csv", b"# my data, v2\na,b\n1,2\n3,4\n", ["first line, '# my data, v2', reads as a comment",
                                                         "delete the lines above the header"]),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", ["not a text file", "PNG image"]),
    ("zipped.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", ["not a text file", "ZIP archive"]),
    ("nul.csv", b"a,b\n1,\x002\n3,4\n", ["not a text file", "binary data"]),
    ("undecodable.csv", b"a,b\n1,\x81\x8d\n2,3\n", ["cannot be decoded", "not valid UTF-8", "0x81", "CSV UTF-8"]),
    ("utf16.csv", "a,b\n1,2\n".encode("utf-16"), ["UTF-16", "CSV UTF-8"]),
    ("sheet.xlsx", GOOD, ["not a .csv, .tsv or .txt file"]),
]


@pytest.mark.parametrize(("name", "data", "fragments"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_gets_its_own_message(name: str, data: bytes, fragments: list[str]) -> None:
    with pytest.raises(TorchstartError) as err:
        load_csv(data, name)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert name in str(err.value)


def test_too_many_columns_names_the_limit() -> None:
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    row = ",".join("1" for _ in range(MAX_COLUMNS + 1))
    with pytest.raises(TorchstartError, match=f"{MAX_COLUMNS + 1:,} columns; the limit is {MAX_COLUMNS:,}"):
        load_csv(f"{header}\n{row}\n{row}\n".encode(), "wide.csv")
    # exactly at the cap is fine
    header, row = header.rsplit(",", 1)[0], row.rsplit(",", 1)[0]
    assert load_csv(f"{header}\n{row}\n{row}\n".encode(), "ok.csv").frame.shape == (2, MAX_COLUMNS)


def test_a_header_longer_than_the_head_cannot_hide_columns() -> None:
    # A 70,000-character first name pushed 20,000 more columns past the 64 KB the columns were counted in:
    # the file passed the 500-column cap, and preparing it took 6 GB.
    header = "x" * 70_000 + "".join(f",c{i}" for i in range(20_000))
    row = ",".join("1" for _ in range(20_001))
    with pytest.raises(TorchstartError, match="first line \\(its header\\) is over 64 KB long"):
        load_csv(f"{header}\n{row}\n{row}\n".encode(), "wide.csv")


def test_an_overlong_column_name_names_the_limit() -> None:
    with pytest.raises(TorchstartError, match=f"column 2 has a name 201 characters long; .* limited to "
                                              f"{MAX_COLUMN_NAME}"):
        load_csv(("a," + "b" * 201 + "\n1,2\n3,4\n").encode(), "names.csv")
    assert load_csv(("a," + "b" * 200 + "\n1,2\n3,4\n").encode(), "ok.csv").frame.shape == (2, 2)


def test_too_many_rows_names_the_limit() -> None:
    data = b"y\n" + b"1\n" * (MAX_ROWS + 1)  # 4 MB; the real default cap, parsed for real
    with pytest.raises(TorchstartError, match="2,000,001 rows; the limit is 2,000,000"):
        load_csv(data, "long.csv")
    assert MAX_ROWS == 2_000_000


def test_a_file_far_over_the_row_cap_is_refused_before_it_is_parsed_whole() -> None:
    # 52 million short rows in 199 MB were parsed whole (8 s, 1.2 GB of server memory) before the refusal.
    data = b"a,b\n" + b"0,1\n" * 800_000  # 3.2 MB: pyarrow streams it in blocks of 1 MB
    not_read = r"has more than [\d,]+ rows \(the rest was not read\); the limit is 10\."
    with pytest.raises(TorchstartError, match=not_read):
        load_csv(data, "tall.csv", max_rows=10)
    with pytest.raises(TorchstartError, match="has 800,000 rows; the limit is 799,999"):  # read to its end: exact
        load_csv(data, "tall.csv", max_rows=799_999)


def test_blank_lines_and_line_breaks_in_quotes_do_not_count_as_rows() -> None:
    blank = b"a,b\n" + b"1,2\n\n\n\n" * 50  # 200 line ends, 50 rows
    assert len(load_csv(blank, "blank.csv", max_rows=60).frame) == 50
    quoted = b"a,b,c\n" + b'"one\ntwo\nthree",1,2\n' * 50
    assert load_csv(quoted, "quoted.csv", max_rows=60).frame.shape == (50, 3)
    cr_only = b"a,b\r" + b"1,2\r" * 70  # old Mac line ends count too
    with pytest.raises(TorchstartError, match="has 70 rows; the limit is 60"):
        load_csv(cr_only, "mac.csv", max_rows=60)


def test_rows_cap_is_a_parameter() -> None:
    with pytest.raises(TorchstartError, match="3 rows; the limit is 2"):
        load_csv(GOOD, "g.csv", max_rows=2)
    assert len(load_csv(GOOD, "g.csv", max_rows=3).frame) == 3


def test_upload_size_limit_names_the_limit() -> None:
    with pytest.raises(TorchstartError, match="uploads are limited to 20 bytes"):
        load_csv(GOOD, "g.csv", max_bytes=20)
    big = b"y\n" + b"1\n" * (MAX_UPLOAD_MB * 2**19)  # one byte over the default limit
    with pytest.raises(TorchstartError, match=f"uploads are limited to {MAX_UPLOAD_MB} MB"):
        load_csv(big + b"1", "big.csv")


def test_human_size() -> None:
    assert human_size(512) == "512 bytes"
    assert human_size(1536) == "1.5 KB"
    assert human_size(200 * 2**20) == "200 MB"


@pytest.mark.parametrize(("text", "suffix", "delimiter"), [
    ("a,b\n1,2\n", ".csv", ","),
    ("a;b\n1,5;2\n3,5;4\n", ".csv", ";"),  # decimal commas: the semicolon still wins
    ("a\tb\n1\t2\n", ".txt", "\t"),
    ("a|b|c\n1|2|3\n", ".txt", "|"),
    ("y\n1\n2\n", ".tsv", "\t"),  # one column: the extension's delimiter
    ("y\n1\n2\n", ".csv", ","),
    ('name,note\n"Smith; J",1\n"Lee; K",2\n', ".csv", ","),  # quoted semicolons do not fool it
    ("a,b\n1,2\n3\n", ".csv", ","),  # a ragged row does not flip it to a one-column reading
])
def test_sniff_delimiter(text: str, suffix: str, delimiter: str) -> None:
    assert sniff_delimiter(text, suffix) == delimiter


def test_reads_tsv_semicolons_bom_latin1_and_utf8() -> None:
    tsv = load_csv(b"a\tb\n1\t2\n3\t4\n", "t.tsv")
    assert list(tsv.frame.columns) == ["a", "b"] and tsv.format.delimiter == "\t"
    semi = load_csv(b"a;b\n1;2\n3;4\n", "s.txt")
    assert semi.frame["b"].tolist() == [2, 4]
    bom = load_csv(b"\xef\xbb\xbfa,b\n1,2\n3,4\n", "bom.csv")
    assert list(bom.frame.columns) == ["a", "b"] and bom.format.has_bom
    latin = load_csv("city,t\nZürich,1\nMálaga,2\n".encode("latin-1"), "l.csv")
    assert latin.format.encoding == "latin-1" and latin.frame["city"].tolist() == ["Zürich", "Málaga"]
    utf8 = load_csv("city,t\nZürich,1\n東京,2\n".encode(), "u.csv")
    assert utf8.format.encoding == "utf-8" and utf8.frame["city"].tolist() == ["Zürich", "東京"]


# Excel on Windows saves "CSV (Comma delimited)" in Windows-1252: € „ “ ” – are bytes 0x80-0x9f there.
EXCEL_TEXT = "shop,price €,note\nCafé „Zürich“,2.5,“best” – ask\nBäckerei,1.25,…\n"


def test_reads_windows_1252_from_excel() -> None:
    table = load_csv(EXCEL_TEXT.encode("cp1252"), "excel.csv")
    assert table.format.encoding == "cp1252" and "Windows-1252" in table.format.describe()
    assert list(table.frame.columns) == ["shop", "price €", "note"]
    assert table.frame["shop"].tolist() == ["Café „Zürich“", "Bäckerei"]
    assert table.frame["note"].tolist() == ["“best” – ask", "…"]
    assert table.frame["price €"].tolist() == [2.5, 1.25]
    expected = pd.read_csv(io.BytesIO(EXCEL_TEXT.encode("cp1252")), **table.format.read_csv_kwargs())
    pd.testing.assert_frame_equal(table.frame, expected)


def test_large_windows_1252_file_takes_the_fast_numeric_path() -> None:
    body = "".join(f"{i},{i * 0.5}\n" for i in range(HEAD_BYTES // 4))
    data = ("température €,y\n" + body).encode("cp1252")
    table = load_csv(data, "big.csv")
    fmt = table.format
    assert fmt.encoding == "cp1252" and read_numeric_fast(data, fmt) is not None
    assert list(table.frame.columns) == ["température €", "y"]
    assert table.frame["y"].iloc[-1] == (len(table.frame) - 1) * 0.5


def test_bytes_undefined_in_windows_1252_are_still_refused() -> None:
    # 0x9d means nothing in Windows-1252 and is a control character in Latin-1.
    with pytest.raises(TorchstartError, match=r"0x9d at position 7 is no character"):
        load_csv(b"a,b\n1,\xe9\x9d\n2,3\n", "odd.csv")


def test_frame_equals_pandas_read_csv_with_the_same_arguments() -> None:
    data = b'a,b,note,y\n1,2.5,"x, y",3\n4,,plain,6\n\n7,8,NA,9\n'
    table = load_csv(data, "q.csv")
    expected = pd.read_csv(io.BytesIO(data), **table.format.read_csv_kwargs())
    pd.testing.assert_frame_equal(table.frame, expected)
    assert table.frame["note"].tolist()[0] == "x, y"


def _numeric_csv(rows: int, late: str | None = None, ints: bool = False) -> bytes:
    """A numeric CSV bigger than the head sample; ``late`` replaces a value near the end."""
    rng = np.random.default_rng(1)
    values = rng.integers(-1000, 1000, (rows, 3)) if ints else rng.standard_normal((rows, 3)).round(5)
    rows_text = [[str(v) for v in row] for row in values.tolist()]
    if not ints:
        rows_text[4][1] = "NA"  # a gap early on
    if late is not None:
        rows_text[-3][1] = late
    return ("a,b,y\n" + "".join(",".join(row) + "\n" for row in rows_text)).encode()


@pytest.mark.parametrize(("late", "ints", "fast"), [
    (None, False, True),      # floats with an NA: the fixed-type read
    (None, True, True),       # all ints: int64 columns, as inference gives
    ("1e5", False, True),
    ("inf", False, True),
    ("", True, True),         # a gap late in an int column: float64 with NaN, as inference gives
    ("2.5", True, False),     # a fraction late in an int column: inference must widen -> plain read
    ("oops", False, False),   # text late in a number column -> plain read, column becomes text
])
def test_fast_numeric_path_matches_pandas(late: str | None, ints: bool, fast: bool) -> None:
    data = _numeric_csv(6_000, late, ints)
    assert len(data) > HEAD_BYTES
    fmt = CsvFormat(",", "utf-8")
    assert (read_numeric_fast(data, fmt) is not None) == fast
    expected = pd.read_csv(io.BytesIO(data), **fmt.read_csv_kwargs())
    table = load_csv(data, "n.csv")
    pd.testing.assert_frame_equal(table.frame, expected)


def test_integer_columns_are_kept_in_the_narrowest_dtype_with_the_same_values() -> None:
    text = "pixel,delta,big,ratio,name\n0,-3,5000000000,0.5,a\n255,100,1,1.5,b\n17,-128,2,2.5,c\n"
    frame = load_csv(text.encode(), "ints.csv").frame
    assert list(map(str, frame.dtypes)) == ["int64", "int64", "int64", "float64", "str"]
    small = compact_integers(frame)
    # 0–255 fits uint8, -128–100 int8; 5e9 needs 64 bits
    assert list(map(str, small.dtypes)) == ["uint8", "int8", "int64", "float64", "str"]
    assert (small[["pixel", "delta", "big"]].astype("int64") == frame[["pixel", "delta", "big"]]).all().all()
    assert compact_integers(frame[["ratio", "name"]]) is not None  # nothing to narrow: returned as it is
    # The Dataset built from either is the same, bit for bit.
    choices = PrepChoices(("pixel", "delta", "big"), "ratio")
    assert torch.equal(prepare(small, choices).dataset.features, prepare(frame, choices).dataset.features)

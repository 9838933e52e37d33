"""Uploaded bytes -> a pandas DataFrame: sniff the text format, refuse bad files with a clear message.

The expensive part (parsing) is pandas' pyarrow engine on the raw bytes; the
format (encoding, delimiter, header) is worked out on a small head sample so a
large numeric file is never decoded in Python.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import PurePath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from pandas._libs.parsers import STR_NA_VALUES
from pandas.api.types import is_numeric_dtype

from torchstart.errors import TorchstartError

MAX_UPLOAD_MB = 200  # matches server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_ROWS = 2_000_000
MAX_COLUMNS = 4_096  # an MNIST CSV (label + 784 pixels) fits, and a 32×32 colour one (label + 3,072)
MAX_COLUMN_NAME = 200  # characters: names longer than this are not names (and pandas copies them per cell)
ALLOWED_SUFFIXES = (".csv", ".tsv", ".txt")
DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 64 * 1024
SNIFF_ROWS = 50

# First bytes of common non-text files, so a renamed file gets a message that names it.
MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook or a PyTorch .pth file is one)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)"),
)
# Control characters that never appear in a text CSV (tab, LF, CR and form feed are fine).
C0_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Bytes 0x80-0x9f are control characters in Latin-1 but letters and signs (€ ‚ „ … ‘ ’ “ ” – —) in
# Windows-1252, which Excel on Windows writes for "CSV (Comma delimited)". They are also UTF-8
# continuation bytes, so they count only once the file is known not to be UTF-8.
WINDOWS_1252_ONLY = re.compile(rb"[\x80-\x9f]")
# The five bytes Windows-1252 leaves undefined: a file holding one is in neither of those encodings.
WINDOWS_1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1", "cp1252": "Windows-1252"}
RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")
# A number written with a decimal comma (1,5 or -0,25e3), as Excel saves CSV where the comma is the decimal sign.
# Thousands may be grouped with points (1.234,56), as German or Spanish Excel writes money.
DECIMAL_COMMA = r"\s*[-+]?([1-9]\d{0,2}(?:\.\d{3})+,\d*|\d+,\d*|,\d+)([eE][-+]?\d+)?\s*"
# Excel writes 3, not 3,0, beside 1,5 in the same column (and 1.234 for one thousand two hundred thirty-four).
WHOLE_NUMBER = r"\s*[-+]?(\d+|[1-9]\d{0,2}(?:\.\d{3})+)\s*"


@dataclass(frozen=True)
class CsvFormat:
    """How the file's text is laid out: what ``pandas.read_csv`` needs to read it."""

    delimiter: str
    encoding: str  # the codec passed to read_csv: a key of ENCODING_NAMES
    has_bom: bool = False
    engine: str = "pyarrow"
    decimal: str = "."  # "," for numbers written 1,5 (then the delimiter is not a comma)
    # Text columns of numbers with grouped thousands ("1,000"; "1.772" beside decimal commas), made numbers.
    grouped: tuple[str, ...] = ()

    @property
    def thousands(self) -> str:
        """The thousands separator that goes with the decimal sign: "," with "1.5", "." with "1,5"."""
        return "." if self.decimal == "," else ","

    def read_csv_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``pandas.read_csv`` (also printed in Show code)."""
        decimal = {"decimal": self.decimal} if self.decimal != "." else {}
        return {"sep": self.delimiter, "encoding": self.encoding, **decimal, "engine": self.engine}

    def describe(self) -> str:
        """A short learner-facing description, e.g. ``comma-separated, UTF-8``."""
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        enc = ENCODING_NAMES[self.encoding]
        bom = " with a byte-order mark" if self.has_bom else ""
        grouped = (f", '{self.thousands}' grouping thousands in {', '.join(repr(c) for c in self.grouped)}"
                   if self.grouped else "")
        return (f"{names[self.delimiter]}-separated, {enc}{bom}{', decimal commas' if self.decimal == ',' else ''}"
                f"{grouped}")


@dataclass
class LoadedTable:
    """A parsed upload: the DataFrame plus what is needed to describe and reproduce the read."""

    frame: pd.DataFrame
    name: str
    format: CsvFormat
    n_bytes: int


def load_csv(
    data: bytes,
    name: str,
    *,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    max_columns: int | None = None,
) -> LoadedTable:
    """Parse an uploaded ``.csv``/``.tsv``/``.txt`` file into a DataFrame.

    Raises ``TorchstartError`` with a message naming the problem (and any limit)
    for: a wrong extension, a file over ``max_bytes``, an empty file, a binary
    file, undecodable bytes, duplicate column names, more than ``max_columns``
    columns, rows of different lengths, a header without rows, a single row or column, more
    than ``max_rows`` rows, and no numeric column. Limits default to the module's caps.
    """
    max_bytes = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    max_rows = MAX_ROWS if max_rows is None else max_rows
    max_columns = MAX_COLUMNS if max_columns is None else max_columns
    check_name(name)
    if len(data) > max_bytes:
        raise TorchstartError(
            f"{name} is {human_size(len(data))}; uploads are limited to {human_size(max_bytes)}. "
            "Upload a smaller file (e.g. fewer rows)."
        )
    if re.fullmatch(rb"\s*", data):  # stops at the first non-space byte: no copy of a large file
        raise TorchstartError(f"{name} is empty: there is no header and no data. Upload a CSV with a header row "
                              "and at least two data rows.")
    check_not_binary(data, name)
    encoding, has_bom = detect_encoding(data, name)
    head = decode_head(data, encoding, has_bom)
    delimiter = sniff_delimiter(head, PurePath(name).suffix.lower())
    check_header_fits(data, head, name)
    header = read_header(head, delimiter)
    check_header(header, name, max_columns)
    fmt = CsvFormat(delimiter, encoding, has_bom)
    check_row_count(data, fmt, name, len(header), max_rows)
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    try:
        frame, fmt = parse(data, fmt, name, len(header))
    except TorchstartError:
        # Excel's "sep=;" line (or a one-field comment line) taken as the header makes every real row look too
        # long. A header that merely starts with "#" ("#,name,score") keeps the ragged row's own message.
        preamble = preamble_message(first_line, name)
        if preamble is None or not (first_line.strip().lower().startswith("sep=") or len(header) == 1):
            raise
        raise TorchstartError(preamble) from None
    frame, fmt = with_decimal_commas(data, fmt, name, len(header), frame)
    frame, fmt = with_grouped_thousands(frame, fmt)
    check_header(list(map(str, frame.columns)), name, max_columns)  # the columns pandas really made
    check_frame(frame, name, max_rows, first_line=first_line)
    return LoadedTable(frame, name, fmt, len(data))


_SMALL_INTS = (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32)


def compact_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each int64 column in the smallest integer dtype that holds its values (MNIST's 0–255
    pixels: uint8, an eighth of the memory), for keeping in the session; the values stay exactly the same.

    The page profiles the frame as pandas read it (int64) before this; the tensors come out equal either way.
    """
    ints = [c for c in frame.columns if frame[c].dtype == np.int64]
    if not ints:
        return frame
    low, high = frame[ints].min(), frame[ints].max()
    narrower = {}
    for column in ints:
        fits = next((t for t in _SMALL_INTS if np.iinfo(t).min <= low[column] and high[column] <= np.iinfo(t).max),
                    None)
        if fits is not None:
            narrower[column] = fits
    return frame.astype(narrower) if narrower else frame


def human_size(n_bytes: int) -> str:
    """``1536`` -> ``1.5 KB``: binary units (1 KB = 1,024 bytes; the uploader's chip counts 1,000)."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n_bytes:,} bytes"


def check_name(name: str) -> None:
    """Refuse file names without a text-table extension."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise TorchstartError(f"{name} is not a .csv, .tsv or .txt file. Save your table as CSV and upload that.")


def check_not_binary(data: bytes, name: str) -> None:
    """Refuse images, archives and other binary files, naming the kind when it is known."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise TorchstartError(f"{name} is UTF-16 text, which this page does not read. "
                              "Save it again as 'CSV UTF-8' and upload that.")
    for magic, kind in MAGIC_NUMBERS:
        if data.startswith(magic):
            raise TorchstartError(f"{name} is not a text file: it looks like {kind}. "
                                  "Upload a CSV (plain text, one row per line).")
    head = data[:HEAD_BYTES]
    controls = len(C0_CONTROLS.findall(head))
    if b"\x00" in data or controls > 0.1 * len(head):
        raise TorchstartError(f"{name} is not a text file: it contains binary data (zero bytes or many control "
                              "characters). Upload a CSV (plain text, one row per line).")


def detect_encoding(data: bytes, name: str) -> tuple[str, bool]:
    """``("utf-8", has_bom)`` for UTF-8; else ``"cp1252"`` or ``"latin-1"`` when the bytes are plausible text in it."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    if data.isascii():  # fast and copy-free: the common case for numeric files
        return "utf-8", False
    position = first_invalid_utf8(data)
    if position is None:
        return "utf-8", has_bom
    # Every byte is *some* Latin-1 character, but most below 0x20 are control characters that
    # no real text holds, and five bytes mean nothing in Windows-1252: then it is another encoding.
    bad = C0_CONTROLS.search(data) or WINDOWS_1252_UNDEFINED.search(data)
    if bad is not None:
        raise TorchstartError(
            f"{name} has bytes that cannot be decoded: it is not valid UTF-8 (byte 0x{data[position]:02x} at "
            f"position {position:,}) and not Windows-1252 or Latin-1 text either (byte 0x{data[bad.start()]:02x} "
            f"at position {bad.start():,} is no character in them). Save it as 'CSV UTF-8' and upload it again."
        )
    # Windows-1252 agrees with Latin-1 on every other byte, so the name only changes when one occurs.
    return ("cp1252" if WINDOWS_1252_ONLY.search(data) else "latin-1"), False


def first_invalid_utf8(data: bytes, chunk: int = 1 << 20) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None; decodes in chunks to keep memory flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), chunk):
        pending = len(decoder.getstate()[0])  # bytes of a character split across chunks
        try:
            decoder.decode(data[start:start + chunk], final=start + chunk >= len(data))
        except UnicodeDecodeError as err:
            return start - pending + err.start
    return None


def decode_head(data: bytes, encoding: str, has_bom: bool) -> str:
    """The first ``HEAD_BYTES`` of the file as text, cut at the last complete line."""
    head = data[:HEAD_BYTES]
    if has_bom:
        head = head[len(codecs.BOM_UTF8):]
    if len(data) > HEAD_BYTES and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]
    return head.decode(encoding, errors="replace")


def sniff_delimiter(head: str, suffix: str = ".csv") -> str:
    """The delimiter that splits the header into most columns with rows of the same width.

    Scores each candidate by (header splits into more than one column, share of
    rows as wide as the header, header width); ties go to the extension's usual
    delimiter (tab for ``.tsv``, else comma).
    """
    preferred = "\t" if suffix == ".tsv" else ","
    candidates = (preferred, *[d for d in DELIMITERS if d != preferred])
    best, best_score = preferred, None
    for delimiter in candidates:
        rows = [row for row in csv.reader(lines(head), delimiter=delimiter) if row][:SNIFF_ROWS]
        if not rows:
            continue
        width = len(rows[0])
        share = sum(len(row) == width for row in rows) / len(rows)
        score = (width > 1, share, width)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def read_header(head: str, delimiter: str) -> list[str]:
    """The column names on the first non-blank line."""
    for row in csv.reader(lines(head), delimiter=delimiter):
        if row:
            return row
    return []


def lines(text: str) -> io.StringIO:
    """The text as a stream for ``csv.reader``, with old Mac (CR only) and Windows line ends read as newlines."""
    return io.StringIO(text, newline=None)


def check_header_fits(data: bytes, head: str, name: str) -> None:
    """Refuse a header row longer than the head the columns are counted from (``HEAD_BYTES``)."""
    text = head.lstrip()
    if len(data) > HEAD_BYTES and "\n" not in text and "\r" not in text:
        raise TorchstartError(f"{name}'s first line (its header) is over {HEAD_BYTES // 1024} KB long, longer than "
                              "this page reads a header. Keep only the columns you need, with short names, and "
                              "upload again.")


def check_header(header: list[str], name: str, max_columns: int) -> None:
    """Refuse too many columns, overlong names and repeated column names (before parsing the body, and after)."""
    if len(header) > max_columns:
        raise TorchstartError(f"{name} has {len(header):,} columns; the limit is {max_columns:,}. "
                              "Keep only the columns you need and upload again.")
    long = next((i for i, col in enumerate(header) if len(col) > MAX_COLUMN_NAME), None)
    if long is not None:
        raise TorchstartError(f"{name}'s column {long + 1} has a name {len(header[long]):,} characters long; "
                              f"column names are limited to {MAX_COLUMN_NAME}. Shorten it in the header row "
                              "and upload again.")
    seen: set[str] = set()
    # pandas names each empty header cell "Unnamed: <i>" (Excel leaves them after trailing commas): no clash.
    repeated = [col for col in header if col and (col in seen or seen.add(col))]
    if repeated:
        names = ", ".join(f"'{c}'" for c in dict.fromkeys(repeated))
        raise TorchstartError(f"{name} has duplicate column names: {names}. Every column needs its own name; "
                              "rename the repeats in the header row and upload again.")


def check_row_count(data: bytes, fmt: CsvFormat, name: str, width: int, max_rows: int) -> None:
    """Refuse a file of more than ``max_rows`` rows before parsing it whole: 52 million short rows in 199 MB took
    8 s and 1.2 GB of server memory to parse, only to be refused. Rows are counted by streaming one column as text
    and stopping just past the cap; a file that cannot be streamed so is left to ``parse`` and its messages."""
    if max(data.count(b"\n"), data.count(b"\r")) <= max_rows + 1:  # a header and max_rows rows at most
        return
    read = pa_csv.ReadOptions(encoding=fmt.encoding, column_names=[f"c{i}" for i in range(width)], skip_rows=1)
    parse_opts = pa_csv.ParseOptions(delimiter=fmt.delimiter, quote_char='"', ignore_empty_lines=True)
    convert = pa_csv.ConvertOptions(include_columns=["c0"], column_types={"c0": pa.string()})
    rows, ended = 0, False
    try:
        reader = pa_csv.open_csv(pa.BufferReader(data), read_options=read, parse_options=parse_opts,
                                 convert_options=convert)
        while rows <= max_rows:
            rows += reader.read_next_batch().num_rows
        try:
            reader.read_next_batch()  # one batch more tells an exact count from a lower bound
        except StopIteration:
            ended = True
    except StopIteration:
        return  # the whole file holds max_rows rows or fewer: blank lines or line breaks in quotes counted above
    except (pa.ArrowException, UnicodeDecodeError):
        return  # ragged rows, a bad byte: parse says which
    count = f"{rows:,} rows" if ended else f"more than {rows:,} rows (the rest was not read)"
    raise TorchstartError(f"{name} has {count}; the limit is {max_rows:,}. Upload a sample of it.")


def parse(data: bytes, fmt: CsvFormat, name: str, width: int) -> tuple[pd.DataFrame, CsvFormat]:
    """Parse with the pyarrow engine; fall back to the C engine for layouts pyarrow cannot chunk."""
    try:
        frame = read_numeric_fast(data, fmt)
        if frame is None:
            frame = pd.read_csv(io.BytesIO(data), **fmt.read_csv_kwargs())
        return name_blank_columns(frame), fmt
    except pd.errors.EmptyDataError:  # the bytes are not blank (checked first): one line, "a,b" with no newline
        raise TorchstartError(f"{name} has a header but no data rows. Add at least two rows of values.") from None
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types; each becomes a message
        ragged = RAGGED.search(str(err))
        if ragged:
            raise TorchstartError(ragged_message(data, fmt, name, width)) from None
        fallback = replace(fmt, engine="c")
        try:
            return name_blank_columns(pd.read_csv(io.BytesIO(data), **fallback.read_csv_kwargs())), fallback
        except Exception as err2:  # noqa: BLE001
            raise TorchstartError(f"{name} could not be read as a table: {err2}. "
                                  "Check that it is a CSV with one header row.") from None


def name_blank_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Name each empty header cell "Unnamed: <position>", as pandas' C engine does.

    Some pandas releases' pyarrow engine keep them as "", so two of them (Excel's trailing commas) were
    one repeated name, and ``frame[""]`` a DataFrame rather than a column.
    """
    names = [str(c) if str(c).strip() else f"Unnamed: {i}" for i, c in enumerate(frame.columns)]
    if names != list(frame.columns):
        frame.columns = names
    return frame


def with_decimal_commas(data: bytes, fmt: CsvFormat, name: str, width: int,
                        frame: pd.DataFrame) -> tuple[pd.DataFrame, CsvFormat]:
    """Read again with ``decimal=","`` when a text column holds numbers such as ``1,5``; keep what has more numbers.

    Excel writes numbers so where the comma is the decimal sign, and then separates values with
    semicolons. Read with a decimal point, those columns would be text and get one-hot encoded.
    """
    if fmt.delimiter == "," or fmt.decimal == ",":
        return frame, fmt
    text = [c for c in frame.columns if not is_numeric_dtype(frame[c].dtype)]
    if not any(decimal_comma_column(frame[c]) for c in text):
        return frame, fmt
    try:
        again, comma = with_grouped_thousands(*parse(data, replace(fmt, decimal=","), name, width))
    except TorchstartError:
        return frame, fmt
    return (again, comma) if len(numeric_columns(again)) > len(numeric_columns(frame)) else (frame, fmt)


def grouped_number_patterns(fmt: CsvFormat) -> tuple[str, str]:
    """Regexes for a number with grouped thousands ("12,345.5") and a plain one ("812", "3.5"), in ``fmt``'s signs."""
    sep, dec = re.escape(fmt.thousands), re.escape(fmt.decimal)
    # A grouped number never starts with 0: "0.125" is a fraction and "030.123.456" a phone number.
    return (rf"\s*[-+]?[1-9]\d{{0,2}}(?:{sep}\d{{3}})+(?:{dec}\d+)?\s*", rf"\s*[-+]?\d+(?:{dec}\d+)?\s*")


def grouped_number_column(series: pd.Series, fmt: CsvFormat, sample: int = 1000) -> bool:
    """True when every value (gaps skipped) is a number, at least one of them written with grouped thousands."""
    values = series.dropna().astype(str)
    grouped_re, plain_re = grouped_number_patterns(fmt)

    def all_numbers(part: pd.Series) -> pd.Series | None:
        grouped = part.str.fullmatch(grouped_re)
        return grouped if bool((grouped | part.str.fullmatch(plain_re)).all()) else None

    # The first values settle most text columns (names, dates) before a pass over a million rows;
    # a sorted column may hold its first grouped number far down, so only the whole column says "grouped".
    if all_numbers(values.head(sample)) is None:
        return False
    grouped = all_numbers(values)
    return grouped is not None and bool(grouped.any())


def ungrouped(series: pd.Series, fmt: CsvFormat) -> pd.Series:
    """The column as numbers: thousands separators dropped, the decimal sign made a point (as Show code does)."""
    text = series.str.replace(fmt.thousands, "", regex=False)
    if fmt.decimal != ".":
        text = text.str.replace(fmt.decimal, ".", regex=False)
    return pd.to_numeric(text)


def with_grouped_thousands(frame: pd.DataFrame, fmt: CsvFormat) -> tuple[pd.DataFrame, CsvFormat]:
    """Make numbers of text columns that hold numbers with grouped thousands ("1,000" or, beside decimal commas,
    "1.772"); one-hot encoded, each value would become a category of its own.

    read_csv's own ``thousands=`` is not used: it strips the separator from any digits, so dates such as
    01.02.2024 in a decimal-comma file would turn into the number 1022024.
    """
    text = [c for c in frame.columns if not is_numeric_dtype(frame[c].dtype)]
    grouped = [c for c in text if grouped_number_column(frame[c], fmt)]
    if not grouped:
        return frame, fmt
    frame = frame.copy()
    for column in grouped:
        frame[column] = ungrouped(frame[column], fmt)
    return frame, replace(fmt, grouped=tuple(grouped))


def decimal_comma_column(series: pd.Series, sample: int = 1000) -> bool:
    """True when the column's first values (gaps skipped) are numbers written with a decimal comma (or whole)."""
    values = series.dropna().head(sample).astype(str)
    comma = values.str.fullmatch(DECIMAL_COMMA)
    return bool(comma.any()) and bool((comma | values.str.fullmatch(WHOLE_NUMBER)).all())


def arrow_options(fmt: CsvFormat) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions, dict]:
    """The pyarrow options ``pd.read_csv(engine="pyarrow", sep=..., encoding=...)`` passes, with its defaults."""
    read = pa_csv.ReadOptions(encoding=fmt.encoding, autogenerate_column_names=False)
    parse_opts = pa_csv.ParseOptions(delimiter=fmt.delimiter, quote_char='"', ignore_empty_lines=True)
    convert = {"null_values": sorted(STR_NA_VALUES), "decimal_point": fmt.decimal, "strings_can_be_null": True}
    return read, parse_opts, convert


def read_numeric_fast(data: bytes, fmt: CsvFormat) -> pd.DataFrame | None:
    """The frame ``pd.read_csv(engine="pyarrow")`` gives, for large all-numeric files, in less memory.

    pyarrow's type inference keeps every parsed block until it has seen the whole
    file (about twice the file's size on top of the result). When every column of
    the head sample is int64 or double, the body is parsed with those types fixed
    instead. A value that does not fit (text, or a fraction in an int column)
    fails the fixed-type read, and None sends the caller to plain ``pd.read_csv``;
    when the fixed-type read succeeds, inference would have found the same types,
    so the frame is equal (a test checks this on tricky files).
    """
    if fmt.engine != "pyarrow" or len(data) <= HEAD_BYTES:
        return None
    read, parse_opts, convert = arrow_options(fmt)
    head = data[:HEAD_BYTES]
    head = head[: head.rfind(b"\n") + 1]
    try:
        schema = pa_csv.read_csv(pa.BufferReader(head), read_options=read, parse_options=parse_opts,
                                 convert_options=pa_csv.ConvertOptions(**convert)).schema
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    numeric = all(pa.types.is_int64(t) or pa.types.is_float64(t) for t in schema.types)
    if not numeric or any(not n.strip() for n in schema.names) or len(set(schema.names)) < len(schema.names):
        return None
    types = dict(zip(schema.names, schema.types))
    try:
        table = pa_csv.read_csv(pa.BufferReader(data), read_options=read, parse_options=parse_opts,
                                convert_options=pa_csv.ConvertOptions(column_types=types, **convert))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    # One block per column, each column's buffers released as it converts, then handed back to the OS.
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()
    return frame


def ragged_message(data: bytes, fmt: CsvFormat, name: str, width: int) -> str:
    """Say which line first has a different number of values than the header."""
    text = data.decode(fmt.encoding, errors="replace")
    reader = csv.reader(lines(text.lstrip("\ufeff")), delimiter=fmt.delimiter)
    try:
        for row in reader:
            if row and len(row) != width:
                shown = fmt.delimiter.join(row)
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                values = f"{len(row)} value{'s' if len(row) != 1 else ''}"
                return (f"Rows of {name} have different lengths: the header has {width} columns but line "
                        f"{reader.line_num} has {values} ('{shown}'). Every row needs one value per column "
                        "(leave a value empty between two delimiters if it is missing).")
    except csv.Error:  # e.g. a value longer than csv's field limit: the line cannot be named
        pass
    return f"Rows of {name} have different numbers of values than the header ({width} columns)."


def check_frame(frame: pd.DataFrame, name: str, max_rows: int, first_line: str = "") -> None:
    """Refuse tables with too few or too many rows, a single column, or nothing numeric to make tensors from."""
    rows = len(frame)
    if rows == 0:
        raise TorchstartError(f"{name} has a header but no data rows. Add at least two rows of values.")
    if rows == 1:
        raise TorchstartError(f"{name} has a single data row; a dataset to batch and train on needs at least "
                              "two. Add more rows.")
    if rows > max_rows:
        raise TorchstartError(f"{name} has {rows:,} rows; the limit is {max_rows:,}. Upload a sample of it.")
    if not numeric_columns(frame):
        preamble = preamble_message(first_line, name)
        if preamble:  # the columns are text because the header pandas took is no header
            raise TorchstartError(preamble)
        kinds = ", ".join(f"'{c}'" for c in list(frame.columns)[:8])
        raise TorchstartError(f"{name} has no numeric column ({kinds} all hold text). A tensor needs numbers: "
                              "upload a table with at least one column of numbers.")
    if frame.shape[1] == 1:  # refused here, not at the column choices: such a table could never become a dataset
        raise TorchstartError(f"{name} has a single column, '{frame.columns[0]}': a dataset needs an input column "
                              "beside the one to predict. Upload a CSV with two or more columns (if each line holds "
                              "several values, separate them with commas, semicolons, tabs or pipes).")


def preamble_message(first_line: str, name: str) -> str | None:
    """Why a first line such as ``sep=;`` (Excel's) or ``# notes`` is no header, or None for any other line."""
    shown = first_line.strip()[:60]
    if shown.lower().startswith("sep="):
        return (f"{name}'s first line, '{shown}', is not a header: Excel adds it to say which separator the file "
                "uses. This page reads the first line as the column names: delete that line and upload again.")
    if shown.startswith("#"):
        return (f"{name}'s first line, '{shown}', reads as a comment, not a header. This page reads the first line "
                "as the column names: delete the lines above the header and upload again.")
    return None


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding numbers or true/false values (these become float32 directly)."""
    return [col for col in frame.columns if is_numeric_dtype(frame[col].dtype)]

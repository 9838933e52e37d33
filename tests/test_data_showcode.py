"""The Data page's Show code against the page for uploads the other tests do not cover.

Each case loads the bytes the way the page does, prepares the dataset with the learner's
choices, then runs the printed code on the same file and compares the tensors exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from torchstart.csv_loading import load_csv
from torchstart.data_code import csv_code
from torchstart.data_prep import DROP, DROP_ROWS, MEAN_FILL, ONE_HOT, PrepChoices, default_choices, prepare

# Excel in a decimal-comma locale writes whole numbers without a comma: 3 next to 1,5.
EU_WHOLE = "größe;farbe;preis\n1,5;rot;2,25\n2,25;blau;3,5\n3;rot;7,125\n4,75;grün;8\n;blau;1\n".encode("cp1252")
BOM_TEXT = "\ufeffstadt,a,y\nZürich,1,3\nBern,4,7\nZürich,,9\n,3,1\n".encode("utf-8")
LABELS = b"a,b,c,label\n1,2,x,cat\n2,,y,dog\n3,4,,cat\n5,6,x,bird\n7,8,y,\n9,1,x,dog\n"
# Classes coded as whole numbers, with a gap in a text feature and in the target.
CODES = b"a,c,kind\n1,x,0\n2,y,1\n3,,2\n4,x,\n5,y,1\n6,x,0\n7,y,2\n8,x,1\n"

# Prices with a thousands dot beside decimal commas (1.772 is 1772 €), and a date column that must stay text.
EU_THOUSANDS = ("fläche;zimmer;preis;datum\n50,9;5;1.772;01.02.2024\n37,0;5;1.425;03.02.2024\n28,5;1;812;"
                "04.02.2024\n61,25;3;2.015,5;05.02.2024\n44,0;2;999;06.02.2024\n").encode()
# Quoted numbers with thousands commas in a comma-separated file.
QUOTED = b'city,"pop, thousands",value\n"Paris, FR","1,000",0.5\n"Rome","12,345.5",1.5\nX,812,2\nY,"2,000",3\n'

CASES = {
    "decimal-comma-thousands-dot": ("de.csv", EU_THOUSANDS, PrepChoices(("fläche", "zimmer"), "preis", DROP,
                                                                         DROP_ROWS)),
    "quoted-thousands-commas": ("quoted.csv", QUOTED, PrepChoices(("pop, thousands", "city"), "value", ONE_HOT,
                                                                  DROP_ROWS)),
    "decimal-comma-whole-numbers": ("eu.csv", EU_WHOLE, None),
    "decimal-comma-mean-fill": ("eu.csv", EU_WHOLE, PrepChoices(("farbe", "größe"), "preis", ONE_HOT, MEAN_FILL)),
    "bom-text-feature-first": ("bom.csv", BOM_TEXT, PrepChoices(("stadt", "a"), "y", ONE_HOT, MEAN_FILL)),
    "labels-subset-drop-text": ("labels.csv", LABELS, PrepChoices(("c", "b"), "label", DROP, MEAN_FILL)),
    "labels-numeric-target-text-feature": ("labels.csv", LABELS, PrepChoices(("label", "c"), "a", ONE_HOT,
                                                                             DROP_ROWS)),
    # A random sample of rows, taken before the gaps are handled: the mean fill is over the sample only.
    "labels-sample-mean-fill": ("labels.csv", LABELS, PrepChoices(("a", "b", "c"), "label", ONE_HOT, MEAN_FILL,
                                                                   rows=4)),
    "decimal-comma-sample": ("eu.csv", EU_WHOLE, PrepChoices(("größe", "farbe"), "preis", ONE_HOT, DROP_ROWS,
                                                             rows=3)),
    "class-codes-text-gap-mean-fill": ("codes.csv", CODES, PrepChoices(("a", "c"), "kind", ONE_HOT, MEAN_FILL,
                                                                      class_codes=True)),
    "class-codes-sample": ("codes.csv", CODES, PrepChoices(("a", "c"), "kind", ONE_HOT, DROP_ROWS, rows=6,
                                                          class_codes=True)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_show_code_rebuilds_the_page_tensors(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, data, choices = CASES[case]
    table = load_csv(data, name)
    choices = choices or default_choices(table.frame)
    result = prepare(table.frame, choices, name)
    (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(csv_code(name, table.format, choices, result.numeric_features, result.text_features, result.classes,
                  rows_in=len(table.frame), class_codes=result.classes_from_numbers),
         namespace)  # our own generated code, run the way a learner would run it
    assert torch.equal(namespace["dataset"].features, result.dataset.features)
    assert torch.equal(namespace["dataset"].targets, result.dataset.targets)


def test_whole_numbers_beside_decimal_commas_read_as_numbers() -> None:
    frame = load_csv(EU_WHOLE, "eu.csv").frame
    assert frame["größe"].tolist()[:4] == [1.5, 2.25, 3.0, 4.75] and frame["preis"].tolist()[3] == 8.0


def test_grouped_thousands_become_numbers_and_dates_stay_text() -> None:
    table = load_csv(EU_THOUSANDS, "de.csv")
    assert table.frame["preis"].tolist() == [1772, 1425, 812, 2015.5, 999]  # read as 1.772 € before
    assert table.frame["fläche"].tolist() == [50.9, 37.0, 28.5, 61.25, 44.0]
    assert table.frame["datum"].tolist()[0] == "01.02.2024"  # read_csv(thousands=".") would make it 1022024
    assert table.format.describe() == ("semicolon-separated, UTF-8, decimal commas, '.' grouping thousands in "
                                       "'preis'")
    quoted = load_csv(QUOTED, "quoted.csv")
    assert quoted.frame["pop, thousands"].tolist() == [1000.0, 12345.5, 812.0, 2000.0]
    assert quoted.format.grouped == ("pop, thousands",)
    # A column that is not all numbers stays text; so do "1,5" (not three digits) and a lone date.
    other = load_csv(b"a,b,c\n1,\"1,000\",x\n2,\"1,5\",y\n3,\"2,000 m\",z\n", "other.csv")
    assert other.format.grouped == () and other.frame["b"].tolist() == ["1,000", "1,5", "2,000 m"]

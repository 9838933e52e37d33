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

CASES = {
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

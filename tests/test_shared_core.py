"""Shared core pieces: synthetic data, the optimizer registry, literals, params."""

from __future__ import annotations

import pytest
import torch

from torchstart.errors import TorchstartError
from torchstart.figure_style import log_axis_ticks, log_ticks
from torchstart.literals import parse_literal
from torchstart.optimizers import OPTIMIZERS, make_optimizer, optimizer_code
from torchstart.params import IntParam
from torchstart.synthetic import classic_points, synthetic_line, synthetic_multi, two_class
from torchstart.wording import ZERO_WIDTH, md_safe, plotly_safe, upload_size_note, uploader_reading


def test_classic_points_are_y_equals_2x() -> None:
    ds = classic_points().dataset
    assert torch.equal(ds.targets, 2 * ds.features) and len(ds) == 4


def test_synthetic_line_reproducible_and_near_truth() -> None:
    a, b = synthetic_line(500, 3.0, -1.0, 0.1, seed=5), synthetic_line(500, 3.0, -1.0, 0.1, seed=5)
    assert torch.equal(a.dataset.features, b.dataset.features)
    x, y = a.dataset.features, a.dataset.targets
    design = torch.cat([x, torch.ones_like(x)], 1)
    fit = torch.linalg.lstsq(design, y).solution.flatten()
    assert fit[0].item() == pytest.approx(3.0, abs=0.02) and fit[1].item() == pytest.approx(-1.0, abs=0.05)


def test_multi_and_two_class_shapes() -> None:
    m = synthetic_multi(100, 4, 0.0, seed=1)
    assert m.dataset.features.shape == (100, 4)
    assert torch.allclose(m.dataset.targets, m.dataset.features @ m.true_weight.T + m.true_bias, atol=1e-5)
    t = two_class(200, 3.0, seed=2).dataset
    assert set(t.targets.flatten().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_registry_builds_the_code_it_shows(name: str) -> None:
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer(name, [p], lr=0.05, weight_decay=0.01)
    shown = optimizer_code(name, lr=0.05, weight_decay=0.01, params="[p]")
    rebuilt = eval(shown, {"torch": torch, "p": p})  # our own generated code, not user text
    assert type(rebuilt) is type(opt)
    assert {k: v for k, v in rebuilt.defaults.items()} == opt.defaults


@pytest.mark.parametrize("text,value", [("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]), ("-2.5", -2.5),
                                        ("[True, False]", [True, False]), ("(1, -2)", [1, -2])])
def test_parse_literal_accepts(text: str, value) -> None:
    assert parse_literal(text) == value


@pytest.mark.parametrize("text", ["", "__import__('os')", "[1, x]", "[1, 2] + [3]", "'abc'",
                                  "[" * 5000 + "]" * 5000, "1" * 30000, "[1, -[2]]", "2**99999"])
def test_parse_literal_refuses(text: str) -> None:
    with pytest.raises(TorchstartError):
        parse_literal(text)


def test_int_param_cap_message_names_limit() -> None:
    param = IntParam("Epochs", 100, 1, 100_000)
    with pytest.raises(TorchstartError, match="100,000"):
        param.check(100_001)


def test_weight_decay_zero_reaches_adamw_and_classic_sgd_stays_plain() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    assert make_optimizer("AdamW", [p], lr=0.01, weight_decay=0.0).defaults["weight_decay"] == 0.0
    assert make_optimizer("AdamW", [p], lr=0.01).defaults["weight_decay"] == 0.01  # class default kept
    assert make_optimizer("Adam", [p], lr=0.01, weight_decay=0.1).defaults["weight_decay"] == 0.1
    assert optimizer_code("SGD", lr=0.01) == "torch.optim.SGD(model.parameters(), lr=0.01)"


def test_md_safe_disarms_links_images_and_addresses_and_reads_the_same() -> None:
    hostile = ("![t](https://evil.example/t.png) [fix](HTTP://evil.example) WWW.evil.example "
               "<https://evil.example> `code[0](x)`")
    safe = md_safe(hostile)
    assert safe.replace(ZERO_WIDTH, "") == hostile  # nothing visible changes
    for construct in ("](", "://", "WWW.", "<h"):
        assert construct not in safe, construct
    assert md_safe("price, `x[0]`, a < b") == "price, `x[0]`, a <\u200b b"


@pytest.mark.parametrize("text, safe", [
    ("cost $ a $", "cost \\$ a \\$"),            # Streamlit read "$ a $" as LaTeX
    ("`x$y` and $z", "`x$y` and \\$z"),            # inside a code span a backslash would show
    ("``a`$`` $", "``a`$`` \\$"),                  # a span closes on a run as long as the one that opened it
    ("`open $ only", "`open \\$ only"),            # an unclosed backtick is a plain character
    ("a\\$b$", "a\\\\\\$b\\$"),                   # "\\$" escaped the backslash and left the dollar to open maths
    ("\\\\$ and \\x", "\\\\\\\\\\$ and \\x"),     # every backslash before a dollar; others as typed
])
def test_md_safe_escapes_dollar_signs_outside_code_spans(text, safe) -> None:
    assert md_safe(text) == safe


def test_plotly_safe_shows_tags_as_typed() -> None:
    assert plotly_safe('<a href="https://evil.example">x</a>') == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    assert plotly_safe("sepal_length & width") == "sepal_length &amp; width"


def test_a_size_note_gives_the_bytes_and_what_the_uploaders_chip_reads() -> None:
    # Streamlit 1.67's rule (utils.*.js): a unit up once the value passes half the base, then toFixed(1).
    assert [uploader_reading(n) for n in (400, 600, 49_894, 600_000, 999_999, 4_849_408)] == [
        "400.0B", "0.6KB", "49.9KB", "0.6MB", "1.0MB", "4.8MB"]
    assert uploader_reading(49_894, 1024) == "48.7KB"
    note = upload_size_note(49_894)
    assert note.startswith("49,894 bytes. This page counts 1 KB = 1,024 bytes")
    assert "reads 49.9KB on its chip" in note and "(48.7KB on Windows, where it counts 1,024)" in note


@pytest.mark.parametrize("low, high", [(44.0, 86.0), (0.08, 33.0), (1e-9, 100.0), (5.0, 5.0), (1e-7, 1e-6)])
def test_log_ticks_label_a_range_with_at_least_two_plain_numbers(low: float, high: float) -> None:
    ticks = log_ticks(low, high)
    assert ticks == sorted(ticks) and len(ticks) >= 2
    if high / low > 1.5:  # a range worth two labels gets two inside it (44-86 GFLOP/s used to get "50" alone)
        assert sum(low <= t <= high for t in ticks) >= 2
    text = log_axis_ticks(low, high)["ticktext"]
    assert all(float(t.replace(",", "")) == pytest.approx(v) for t, v in zip(text, ticks))

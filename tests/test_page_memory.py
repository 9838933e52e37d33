"""What a learner types on a page is still there after a visit to another page.

Streamlit forgets a widget's value once a script run does not draw it, and a page
switch is such a run; every keyed setting is drawn with ``persist_state="session"``.
"""

from __future__ import annotations

import pytest

from tests.browser import main_text, open_app, wait_for_run
from tests.journey import fill, go

# (page, widget kind, key, a value other than the default)
CHANGES = [
    ("pages/tensors.py", "text_area", "tensors.literal", "[7, 8, 9]"),
    ("pages/tensors.py", "selectbox", "tensors.dtype", "float64"),
    ("pages/autograd.py", "text_input", "autograd.expression", "y = sin(x) * w"),
    ("pages/models.py", "text_input", "models.class_name", "MyNet"),
    ("pages/models.py", "text_input", "models.input_shape", "3"),
    ("pages/checkpoints.py", "number_input", "checkpoints.seed", 5),
    ("pages/device.py", "multiselect", "device_dtypes", []),
    ("pages/data.py", "number_input", "data.batch_size", 3),
    ("pages/optimizers.py", "number_input", "optimizers.steps.classic", 120),
    ("pages/training.py", "selectbox", "training_optimizer", "Adam"),
]


@pytest.mark.parametrize("page, kind, key, value", CHANGES, ids=[c[2] for c in CHANGES])
def test_a_setting_survives_a_visit_to_another_page(open_page, page: str, kind: str, key: str, value) -> None:
    at = open_page(page)
    widget = getattr(at, kind)(key=key)
    assert widget.value != value  # the default differs, so keeping it means something
    widget.set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/home.py").run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert getattr(at, kind)(key=key).value == value


@pytest.mark.browser
def test_a_typed_tensor_is_still_there_after_another_page(page) -> None:
    open_app(page, "tensors")
    box = page.get_by_role("textbox", name="Values (nested lists)")
    box.fill("[7, 8, 9]")
    box.press("Control+Enter")  # a text area submits on Ctrl+Enter
    wait_for_run(page)
    assert "tensor([7, 8, 9])" in main_text(page)
    go(page, "Models")
    fill(page, "Class name", "MyNet")
    go(page, "Tensors")
    assert page.get_by_role("textbox", name="Values (nested lists)").input_value() == "[7, 8, 9]"
    assert "tensor([7, 8, 9])" in main_text(page)
    go(page, "Models")
    assert "MyNet(" in main_text(page)

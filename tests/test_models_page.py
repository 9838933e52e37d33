"""Models page: AppTest runs of the editor, summary, freezing and hand-off, and a real-browser preset pick."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from torchstart import session
from torchstart.datasets import TabularDataset
from tests.browser import main_text, open_app, wait_for_run
from tests.generated import run_code as run_printed
from tests.journey import choose
from tests.test_models import count, flop_counter_mult_adds, run_code
from tests.test_models_showcode import (COST_LINE, MEMORY_LINE, number, page_torchinfo_rows,
                                        printed_torchinfo_rows)
from torchstart.model_inspect import format_bytes

PAGE = "pages/models.py"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def metric_help(at, label: str) -> str:
    return next(m.help for m in at.metric if m.label == label)


def layer_key(at, position: int, arg: str) -> str:
    """Widget key of ``arg`` of the layer at ``position`` (0-based) in the current stack."""
    return f"models.layer.{at.session_state['models.stack'][position]['id']}.{arg}"


def pick_preset(at, name: str):
    at.selectbox(key="models.preset").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_runs_with_the_simple_model(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert metric(at, "Parameters") == f"{count(nn.Linear(2, 1)):,}"
    assert at.code[0].value == "SimpleModel(\n  (linear): Linear(in_features=2, out_features=1, bias=True)\n)"
    handed = at.session_state[session.MODEL]
    assert (handed.name, handed.in_features, handed.out_features) == ("SimpleModel", 2, 1)


def test_changing_a_width_changes_the_parameter_total(open_page) -> None:
    at = open_page(PAGE)
    at.number_input(key=layer_key(at, 0, "out_features")).set_value(4).run()
    assert metric(at, "Parameters") == f"{count(nn.Linear(2, 4)):,}"
    assert at.session_state[session.MODEL].out_features == 4
    # With auto-fit on, widening the MLP's first layer re-fits the next one.
    pick_preset(at, "MLP")
    assert not any("edited the stack" in c.value for c in at.caption)
    at.toggle(key="models.auto_fit").set_value(True).run()
    at.number_input(key=layer_key(at, 0, "out_features")).set_value(32).run()
    plain = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    assert not at.error
    assert metric(at, "Parameters") == f"{count(plain):,}"
    assert at.number_input(key=layer_key(at, 2, "in_features")).value == 32
    # The preset's note now says it describes the preset as loaded, not this edited stack.
    assert any(c.value.startswith("A multilayer perceptron") and "You have edited the stack since" in c.value
               for c in at.caption)


def test_auto_fit_sets_the_unflatten_for_colour_rows_and_leaves_other_lengths_to_the_learner(open_page) -> None:
    at = pick_preset(open_page(PAGE), "Small CNN on pixel rows")
    at.text_input(key="models.input_shape").set_value("3072")
    at.toggle(key="models.auto_fit").set_value(True).run()
    unflatten = [at.number_input(key=layer_key(at, 0, arg)) for arg in ("channels", "height", "width")]
    assert [(w.value, w.disabled) for w in unflatten] == [(3, True), (32, True), (32, True)]
    assert at.number_input(key=layer_key(at, 1, "in_channels")).value == 3
    assert not at.error
    plain = nn.Sequential(nn.Unflatten(1, (3, 32, 32)), nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(16 * 8 * 8, 10))
    assert metric(at, "Parameters") == f"{count(plain):,}"
    assert at.session_state[session.MODEL].in_features == 3072
    # 1,568 is no s² and no 3s²: the three numbers are the learner's to set, and the error says what they must hold.
    at.text_input(key="models.input_shape").set_value("1568").run()
    assert [w.disabled for w in (at.number_input(key=layer_key(at, 0, a)) for a in ("channels", "height", "width"))] \
        == [False, False, False]
    assert "Set channels × height × width to 1,568, or change the input shape to 3,072" in at.error[0].value
    for arg, value in (("channels", 2), ("height", 28), ("width", 28)):
        at.number_input(key=layer_key(at, 0, arg)).set_value(value)
    at.run()
    assert not at.error and at.number_input(key=layer_key(at, 1, "in_channels")).value == 2


def test_the_page_says_how_to_fit_the_model_to_the_data_pages_dataset(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.DATASET] = TabularDataset(torch.zeros(5, 6), torch.zeros(5, 3), list("abcdef"),
                                                       ["kind=x", "kind=y", "kind=z"])
    pick_preset(at, "MLP")

    def note() -> str:
        return next(c.value for c in at.caption if "The Training page can train this architecture" in c.value)

    assert at.info[0].value == ("The Data page's dataset has 6 features and 3 classes (one output each): to train "
                                "this model on it, set the input shape to 6 (with the Auto-fit switch on, the layers in between follow) and "
                                "make the last layer give 3 (a Linear's out_features).")
    at.text_input(key="models.input_shape").set_value("6")
    at.toggle(key="models.auto_fit").set_value(True).run()
    at.number_input(key=layer_key(at, 4, "out_features")).set_value(3).run()
    assert note().endswith("This model fits the Data page's dataset: 6 features and 3 classes (one output each).")
    assert not any("Data page's dataset" in i.value for i in at.info)
    handed = at.session_state[session.MODEL]
    assert (handed.in_features, handed.out_features) == (6, 3)


def test_one_click_fits_a_cnn_to_the_data_pages_colour_pictures(open_page) -> None:
    at = pick_preset(open_page(PAGE), "Small CNN")
    at.toggle(key="models.auto_fit").set_value(False).run()  # the button fits the sizes even with auto-fit off
    at.session_state[session.DATASET] = TabularDataset(torch.zeros(5, 3072), torch.zeros(5, 4),
                                                       [f"p{i}" for i in range(3072)], [f"k={c}" for c in "abcd"])
    at.run()
    # 3,072 values are no 1 × 28 × 28 picture, but a colour 32 × 32 one.
    assert "put an Unflatten (3 × 32 × 32) first, `nn.Unflatten(1, (3, 32, 32))`" in at.info[0].value
    fit = at.button(key="models.fit_to_data")
    changes = ("input shape 1, 28, 28 → 3072; an Unflatten (3 × 32 × 32) put first; layer 2 (Conv2d): in_channels "
               "1 → 3; layer 9 (Linear): in_features 784 → 1024, out_features 10 → 4")
    assert fit.help.startswith(f"Changes {changes}, and turns Auto-fit on.")
    fit.click().run()
    assert not at.exception and not at.error
    assert not any("Data page's dataset" in i.value for i in at.info)  # the note and the button are gone
    assert at.success[0].value == (f"Fitted to the Data page's dataset: {changes}. Auto-fit is now on, so the "
                                   "layers keep fitting as you edit.")
    assert at.toggle(key="models.auto_fit").value
    assert not any(b.key == "models.fit_to_data" for b in at.button)
    assert at.text_input(key="models.input_shape").value == "3072"
    plain = nn.Sequential(nn.Unflatten(1, (3, 32, 32)), nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(16 * 8 * 8, 4))
    assert metric(at, "Parameters") == f"{count(plain):,}"
    assert at.number_input(key=layer_key(at, 0, "channels")).value == 3
    handed = at.session_state[session.MODEL]
    assert (handed.in_features, handed.out_features) == (3072, 4)
    assert any("You have edited the stack since" in c.value for c in at.caption)  # no longer the preset as loaded
    at.run()
    assert not at.success  # said once


@pytest.mark.parametrize("features", [1, 4, 6])
def test_a_cnn_gets_no_fit_button_for_plain_numbers(open_page, features: int) -> None:
    at = pick_preset(open_page(PAGE), "Small CNN")
    at.session_state[session.DATASET] = TabularDataset(torch.zeros(5, features), torch.zeros(5, 1),
                                                       [f"x{i}" for i in range(features)], ["y"])
    at.run()
    assert at.info[0].value.endswith("plain numbers, not pictures, and this model's first layers need channels × "
                                     "height × width. Start from the MLP preset for it.")
    assert not any(b.key == "models.fit_to_data" for b in at.button)


def test_the_fit_keeps_frozen_layers_and_fits_the_stack_as_it_is_when_clicked(open_page) -> None:
    at = pick_preset(open_page(PAGE), "MLP")
    at.session_state[session.DATASET] = TabularDataset(torch.zeros(5, 4), torch.zeros(5, 3), list("abcd"),
                                                       ["k=a", "k=b", "k=c"])
    at.multiselect(key="models.frozen").set_value(["linear2"]).run()
    at.number_input(key=layer_key(at, 2, "out_features")).set_value(8)  # an edit that lands with the click
    at.button(key="models.fit_to_data").click().run()
    assert not at.exception and not at.error
    assert at.multiselect(key="models.frozen").value == ["linear2"]
    plain = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
    assert metric(at, "Parameters") == f"{count(plain):,}"
    assert metric(at, "Trainable") == f"{count(plain) - count(plain[2]):,}"


def test_a_frozen_layer_stays_frozen_when_the_stack_around_it_changes(open_page) -> None:
    at = pick_preset(open_page(PAGE), "MLP")  # linear1 (2 → 16), linear2 (16 → 16), linear3 (16 → 1)
    at.toggle(key="models.auto_fit").set_value(True).run()  # so the stack still builds after a removal
    at.multiselect(key="models.frozen").set_value(["linear2"]).run()
    stack = at.session_state["models.stack"]
    at.button(key=f"models.remove.{stack[0]['id']}").click().run()  # the old linear2 is now linear1
    assert not at.exception and at.multiselect(key="models.frozen").value == ["linear1"]
    params = at.dataframe[1].value
    frozen = dict(zip(params["Name"], params["requires_grad"]))
    assert frozen["linear1.weight"] is False and frozen["linear2.weight"] is True  # not the output layer
    frozen_entry = next(e for e in at.session_state["models.stack"] if e["kind"] == "Linear")
    at.button(key=f"models.remove.{frozen_entry['id']}").click().run()  # remove the frozen layer itself: gone
    assert at.multiselect(key="models.frozen").value == []


def test_every_preset_as_loaded_reads_as_not_edited(open_page) -> None:
    from torchstart.model_spec import PRESETS

    at = open_page(PAGE)
    for name in PRESETS:
        pick_preset(at, name)
        assert not any("edited the stack" in c.value for c in at.caption), name


def test_bad_stack_shows_an_error_and_keeps_the_last_model(open_page) -> None:
    at = pick_preset(open_page(PAGE), "MLP")
    before = at.session_state[session.MODEL]
    at.number_input(key=layer_key(at, 2, "in_features")).set_value(64).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "Layer 3: Linear(64 → 16) receives 16 features from ReLU after Linear(2 → 16)" in at.error[0].value
    assert not at.metric  # nothing stale is shown as if it were this stack
    assert at.session_state[session.MODEL] is before
    assert any("still use the last valid model, MLP" in c.value for c in at.caption)


@pytest.mark.parametrize("key, value, message", [
    ("models.input_shape", "1, 28, x", "not a list of whole numbers"),
    ("models.class_name", "my model", "not a valid Python class name"),
])
def test_bad_shape_or_name_shows_an_error(open_page, key: str, value: str, message: str) -> None:
    at = open_page(PAGE)
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert message in at.error[0].value


def test_freezing_updates_trainable_counts(open_page) -> None:
    at = pick_preset(open_page(PAGE), "MLP")
    at.multiselect(key="models.frozen").set_value(["linear1"]).run()
    frozen = count(nn.Linear(2, 16))
    assert metric(at, "Trainable") == f"{337 - frozen:,}"
    assert metric(at, "Non-trainable") == f"{frozen:,}"
    params = at.dataframe[1].value
    assert dict(zip(params["Name"], params["requires_grad"])) == {
        "linear1.weight": False, "linear1.bias": False, "linear2.weight": True, "linear2.bias": True,
        "linear3.weight": True, "linear3.bias": True}
    assert not any(p.requires_grad for p in at.session_state[session.MODEL].build().linear1.parameters())
    at.selectbox(key="models.hist_param").set_value("linear2.weight").run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(figure["data"][0]["y"]) == 16 * 16
    assert figure["layout"]["title"]["text"].startswith("linear2.weight")


def test_a_too_large_model_is_refused_with_the_cap(open_page) -> None:
    at = open_page(PAGE)
    at.text_input(key="models.input_shape").set_value("65536")
    at.toggle(key="models.auto_fit").set_value(True)
    at.number_input(key=layer_key(at, 0, "out_features")).set_value(65_536).run()
    assert not at.exception
    assert "4,295,032,832 parameters; the cap here is 25,000,000" in at.error[0].value
    assert at.session_state[session.MODEL].name == "SimpleModel"  # the last valid model is kept


def test_add_move_and_remove_layers(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="models.new_kind").set_value("ReLU")
    at.button(key="models.add").click().run()
    at.selectbox(key="models.new_kind").set_value("Linear")
    at.button(key="models.add").click().run()
    # The new Linear's in_features was fitted to what the stack gave: 1.
    assert metric(at, "Parameters") == f"{count(nn.Linear(2, 1)) + count(nn.Linear(1, 16)):,}"
    assert "(relu): ReLU()" in at.code[0].value
    relu_id = at.session_state["models.stack"][1]["id"]
    at.button(key=f"models.up.{relu_id}").click().run()
    assert [e["kind"] for e in at.session_state["models.stack"]] == ["ReLU", "Linear", "Linear"]
    assert at.code[0].value.index("(relu)") < at.code[0].value.index("(linear1)")
    at.button(key=f"models.remove.{relu_id}").click().run()
    assert [e["kind"] for e in at.session_state["models.stack"]] == ["Linear", "Linear"]
    assert not at.error and not at.exception
    at.button(key="models.reload").click().run()  # back to the preset as it was
    assert [e["kind"] for e in at.session_state["models.stack"]] == ["Linear"]
    assert metric(at, "Parameters") == f"{count(nn.Linear(2, 1)):,}"


def test_show_code_reproduces_the_page(open_page) -> None:
    at = pick_preset(open_page(PAGE), "Small CNN")
    at.number_input(key="models.seed").set_value(3)
    at.number_input(key="models.input_seed").set_value(9)
    at.number_input(key="models.batch").set_value(3).run()
    assert not at.exception
    ns = run_code(at.code[-1].value)
    assert repr(ns["model"]) == at.code[0].value
    params = at.dataframe[1].value
    assert list(params["Name"]) == [name for name, _ in ns["model"].named_parameters()]
    assert list(params["Numel"]) == [p.numel() for p in ns["model"].parameters()]
    assert params["mean"].tolist() == pytest.approx([p.double().mean().item() for p in ns["model"].parameters()])
    shown_outputs = at.dataframe[3].value
    assert shown_outputs.shape == (3, 10)
    assert torch.allclose(torch.tensor(shown_outputs.to_numpy(), dtype=torch.float32), ns["y"], atol=1e-6)
    assert metric(at, "Parameters") == f"{count(ns['model']):,}"


def test_hand_off_builds_the_class_shown(open_page) -> None:
    at = pick_preset(open_page(PAGE), "Small CNN")
    handed = at.session_state[session.MODEL]
    assert (handed.input_shape, handed.output_shape) == ((1, 28, 28), (10,))
    assert handed.in_features is None  # an image model is not offered for tabular data
    shown = run_code(handed.code)["model"]
    fresh = handed.build()
    assert fresh is not handed.module
    assert list(fresh.state_dict()) == list(shown.state_dict())
    shown.load_state_dict(fresh.state_dict(), strict=True)


def test_a_linear_on_a_3x4_sample_shows_every_multiply_add_and_show_code_prints_the_page(open_page) -> None:
    at = open_page(PAGE)
    at.text_input(key="models.input_shape").set_value("3, 4")
    at.number_input(key=layer_key(at, 0, "in_features")).set_value(4)
    at.number_input(key=layer_key(at, 0, "out_features")).set_value(2).run()
    assert not at.exception and not at.error
    real = flop_counter_mult_adds(nn.Linear(4, 2), (3, 4))  # torch's own count: 3 rows × 4 × 2 = 24
    assert real == 24
    assert metric(at, "Multiply-adds per sample") == f"{real:,}"
    table = at.dataframe[0].value
    assert list(table["Mult-adds"]) == [real]
    # Show code prints the same table rows, per-layer counts and totals the page shows.
    _, printed = run_printed(at.code[-1].value)
    assert printed_torchinfo_rows(printed) == page_torchinfo_rows(table)
    assert [(n, number(m), number(b)) for n, m, b in COST_LINE.findall(printed)] == \
        list(zip(table["Layer"], table["Mult-adds"], table["Output bytes"]))
    assert f"Multiply-adds per sample: {metric(at, 'Multiply-adds per sample')}\n" in printed
    input_bytes, output_bytes, param_bytes, total = (number(v) for v in MEMORY_LINE.search(printed).groups())
    assert (input_bytes, output_bytes, param_bytes) == (3 * 4 * 4, 3 * 2 * 4, count(nn.Linear(4, 2)) * 4)
    assert metric(at, "Estimated memory") == format_bytes(total)
    assert f"input {input_bytes:,} (12 values × 4 bytes)" in metric_help(at, "Estimated memory")
    assert f"parameters and buffers {param_bytes:,} = {total:,} bytes." in metric_help(at, "Estimated memory")


def one_layer_on(at, shape: str, kind: str):
    """Set the input shape, add a ``kind`` layer and remove the preset's first one: a stack of just that layer."""
    at.text_input(key="models.input_shape").set_value(shape)
    first = at.session_state["models.stack"][0]["id"]
    at.selectbox(key="models.new_kind").set_value(kind)
    at.button(key="models.add").click().run()
    at.button(key=f"models.remove.{first}").click().run()
    return at


def test_a_layer_without_parameters_still_uses_memory(open_page) -> None:
    at = one_layer_on(open_page(PAGE), "1, 28, 28", "ReLU")
    assert not at.exception and not at.error
    x = torch.zeros(1, 1, 28, 28)
    each = x.numel() * x.element_size()  # 3,136 bytes in, and ReLU makes a new tensor of the same size
    assert nn.ReLU()(x).numel() * 4 == each == 3136
    assert metric(at, "Estimated memory") == format_bytes(2 * each) == "6.1 KB"  # torchinfo: 0.0 kB
    helptext = metric_help(at, "Estimated memory")
    assert f"the input {each:,} (784 values × 4 bytes) + every layer's output {each:,}" in helptext
    assert f"parameters and buffers 0 = {2 * each:,} bytes (1 KB = 1,024 bytes)." in helptext
    assert metric(at, "Multiply-adds per sample") == "0"


def test_a_one_channel_mismatch_reads_in_the_singular(open_page) -> None:
    at = one_layer_on(open_page(PAGE), "1, 28, 28", "Conv2d")
    at.number_input(key=layer_key(at, 0, "in_channels")).set_value(3).run()
    assert not at.exception
    assert "Layer 1: Conv2d(3 → 8, 3×3) receives 1 channel from the input. Set its in_channels to 1" \
        in at.error[0].value


@pytest.mark.browser
def test_pick_a_preset_and_see_the_summary(page) -> None:
    # Home first: a fresh server serves st.navigation pages only once app.py has run.
    open_app(page, "")
    open_app(page, "models")
    assert "SimpleModel: 2 → 1" in main_text(page)
    choose(page, "Start from a preset", "Small CNN")
    text = main_text(page)
    assert "SmallCNN: 1×28×28 → 10" in text
    assert "9,098" in text  # the Parameters metric, equal to plain torch's count
    assert "(conv1): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in text
    assert page.get_by_test_id("stDataFrame").first.is_visible()  # the torchinfo summary table
    page.get_by_text("Show code").click()
    wait_for_run(page)
    assert "class SmallCNN(nn.Module):" in main_text(page)


def test_a_one_value_std_reads_nan_not_none(open_page) -> None:
    at = open_page(PAGE)
    params = next(f.value for f in at.dataframe if "requires_grad" in f.value.columns).set_index("Name")
    torch.manual_seed(0)
    bias = nn.Linear(2, 1).bias
    assert params.loc["linear.bias", "std"] == "nan"  # what torch.std gives for one value (n - 1 = 0)
    assert params.loc["linear.bias", "mean"] == pytest.approx(bias.item())  # no NaN: still a number column
    assert float(params.loc["linear.weight", "std"]) > 0


def test_the_training_page_says_when_it_uses_the_last_model_that_built(open_page) -> None:
    at = pick_preset(open_page(PAGE), "MLP")
    at.number_input(key=layer_key(at, 0, "out_features")).set_value(32).run()  # auto-fit off: layer 3 misfits
    assert "Layer 3" in at.error[0].value and "last valid model, MLP (2 → 1)" in at.caption[-1].value
    at.switch_page("pages/training.py").run()
    at.selectbox(key="training_model").set_value("session").run()
    assert not at.exception
    warning = [w.value for w in at.warning if "does not build" in w.value]
    assert len(warning) == 1 and "Layer 3" in warning[0], [w.value for w in at.warning]
    at.switch_page(PAGE).run()
    at.number_input(key=layer_key(at, 2, "in_features")).set_value(32).run()  # fixed: the new model hands on
    assert not at.error
    at.switch_page("pages/training.py").run()
    assert not any("does not build" in w.value for w in at.warning)

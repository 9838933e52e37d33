"""The Checkpoints page in AppTest (uploads through file_uploader.set_value) and in a real browser."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from pages import _checkpoints_ui as ui
from tests.browser import expect, open_app, rerun_after, wait_for_run
from tests.journey import go
from tests.test_checkpoints_safety import HOSTILE, good_state_dict, torch_bytes
from torchstart import checkpoint_safety as safety
from torchstart import session
from torchstart.datasets import TabularDataset
from torchstart.session import SessionModel, Standardizer, TrainedModel
from torchstart.trained_file import trained_file_bytes
from torchstart.wording import md_safe, uploader_reading

PAGE = "pages/checkpoints.py"
MIME = "application/octet-stream"


def trained_model(linear: bool = False) -> tuple[TrainedModel, bytes]:
    """A small regression model trained by real SGD steps, with scalers, and its weights-only .pth bytes."""
    torch.manual_seed(0)
    x = torch.randn(64, 2) * torch.tensor([3.0, 0.5]) + torch.tensor([10.0, -1.0])
    y = (2 * x[:, :1] - 4 * x[:, 1:]) + 1
    xs = Standardizer(x.mean(0), x.std(0))
    ys = Standardizer(y.mean(0), y.std(0))
    model = nn.Linear(2, 1) if linear else nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.mse_loss(model(xs.transform(x)), ys.transform(y)).backward()
        opt.step()
    trained = TrainedModel(model=model, feature_names=["a", "b"], target_names=["target"],
                           description="test MLP", x_scaler=xs, y_scaler=ys)
    buffer = io.BytesIO()  # a weights-only file: torch.save(state_dict) into memory
    torch.save(model.state_dict(), buffer)
    return trained, buffer.getvalue()


def frame_with(at, column: str) -> pd.DataFrame:
    """The last dataframe on the page that has ``column`` (later sections come later)."""
    for frame in reversed(at.dataframe):
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with column {column!r}")


def upload(at, name: str, data: bytes):
    """Put a file into the page's uploader and rerun."""
    at.file_uploader(key="checkpoints.upload").set_value((name, data, MIME)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_with(open_page, **state):
    """Open the page with session objects (a TrainedModel, a SessionModel) already in place."""
    at = open_page()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def code_blocks(at) -> list[str]:
    """Text of every st.code block."""
    return [c.value for c in at.code]


def test_empty_page_explains_and_offers_a_download(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception
    assert at.title[0].value == "Checkpoints"
    assert at.radio(key="checkpoints.save_source").options == ["A fresh nn.Linear"]
    assert any("Train a model on the Training page and it is offered here too" in c.value for c in at.caption)
    text = " ".join(m.value for m in at.markdown)
    assert "weights_only=True" in text and "state_dict" in text
    # The state_dict holds buffers too, as torch says: BatchNorm's running statistics are in it.
    bn = nn.BatchNorm1d(3)
    buffers = {"running_mean", "running_var", "num_batches_tracked"}
    assert buffers <= set(bn.state_dict()) and not buffers & {n for n, _ in bn.named_parameters()}
    assert "persistent buffers" in text and all(f"`{b}`" in text for b in buffers)
    assert not at.error
    name, data = at.session_state[ui.SAVED]
    torch.manual_seed(0)
    expected = nn.Linear(1, 1).state_dict()
    loaded = torch.load(io.BytesIO(data), weights_only=True)
    assert name == "linear.pth" and all(torch.equal(loaded[k], v) for k, v in expected.items())
    assert any('torch.save(model.state_dict(), "model.pth")' in c for c in code_blocks(at))
    # What torch.save(model) would name, from torch itself; torch's own classes are no app internals.
    (whole,) = [c.value for c in at.caption if c.value.startswith("Saved whole")]
    names = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(torch_bytes(nn.Linear(1, 1)))))
    assert f"`{'`, `'.join(names)}`" in whole and "torchstart" not in whole



def test_the_resume_note_holds_adams_state_loads_weights_only(open_page) -> None:
    at = open_page(PAGE)
    (note,) = [c.value for c in at.caption if c.value.startswith("To resume training later")]
    assert "optimizer.state_dict()" in note and "`weights_only=True` reads it" in note
    # The claim, checked: Adam's running averages sit in its state_dict, and weights_only loads them back.
    model = nn.Linear(2, 1)
    adam = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(4, 2)).sum().backward()
    adam.step()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": adam.state_dict()}, buffer)
    checkpoint = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    fresh = torch.optim.Adam(nn.Linear(2, 1).parameters(), lr=0.1)
    fresh.load_state_dict(checkpoint["optimizer"])
    assert torch.equal(fresh.state[fresh.param_groups[0]["params"][0]]["exp_avg"],
                       adam.state[model.weight]["exp_avg"])


def test_saving_the_models_page_model_whole_names_the_app_classes_and_says_so(open_page) -> None:
    at = open_page("pages/models.py")
    at.switch_page(PAGE)
    at.run()
    at.radio(key="checkpoints.save_source").set_value("models").run()
    (whole,) = [c.value for c in at.caption if c.value.startswith("Saved whole")]
    assert "`torchstart.model_spec.StackedModel`" in whole and "would name your class instead" in whole
    built = at.session_state[session.MODEL]
    assert any(f"The Models page's {built.name} as built, with its initial weights (seed {built.seed}): nothing "
               "trained yet" in c.value for c in at.caption)


def test_round_trip_training_model_predicts_the_same(open_page, tmp_path, monkeypatch) -> None:
    trained, _ = trained_model()
    at = open_with(open_page, **{session.TRAINED: trained})
    assert at.radio(key="checkpoints.save_source").value == "trained"
    name, data = at.session_state[ui.SAVED]
    # The Training page's download: the weights under "model", the standardization statistics beside them.
    assert name == "model.pth" and data == trained_file_bytes(trained.model, trained.x_scaler, trained.y_scaler)
    saved = torch.load(io.BytesIO(data), weights_only=True)
    assert list(saved) == ["model", "x_mean", "x_std", "y_mean", "y_std"]
    assert torch.equal(saved["x_std"], trained.x_scaler.std) and torch.equal(saved["y_mean"], trained.y_scaler.mean)
    upload(at, "trained.pth", data)
    assert "passed all four checks" in at.success[0].value
    assert any("Beside it, `x_mean`, `x_std`, `y_mean`, `y_std`: the standardization" in c.value for c in at.caption)
    assert at.radio(key="checkpoints.target").value == "trained"
    keys = frame_with(at, "status")
    assert set(keys["status"]) == {"matches"}
    rows = [[10.0, -1.0], [13.5, 0.0], [4.0, -2.0]]
    at.text_input(key="checkpoints.inputs").set_value(json.dumps(rows)).run()
    predictions = frame_with(at, "predicted target")
    expected = trained.predict(torch.tensor(rows))
    assert predictions["predicted target"].tolist() == pytest.approx(expected[:, 0].tolist(), rel=1e-6)
    assert predictions[["a", "b"]].values.tolist() == rows
    assert at.checkbox(key="checkpoints.use_scalers").label == "Apply the standardization saved in the file"

    # the prediction code reproduces the same numbers from the file, statistics included
    monkeypatch.chdir(tmp_path)
    Path("trained.pth").write_bytes(data)
    code = next(c for c in code_blocks(at) if "model.eval()" in c and "print(y)" in c)
    assert 'x_mean, x_std = checkpoint["x_mean"].float(), checkpoint["x_std"].float()' in code
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["y"][:, 0].tolist() == pytest.approx(expected[:, 0].tolist(), rel=1e-6)
    # without the scalers the page shows the raw model output
    at.checkbox(key="checkpoints.use_scalers").uncheck().run()
    raw = trained.model.eval()(torch.tensor(rows)).detach()
    assert frame_with(at, "predicted target")["predicted target"].tolist() == pytest.approx(raw[:, 0].tolist(), rel=1e-6)


def test_a_weights_only_file_uses_the_training_pages_standardization(open_page) -> None:
    trained, weights_only = trained_model()
    at = upload(open_with(open_page, **{session.TRAINED: trained}), "weights.pth", weights_only)
    assert at.checkbox(key="checkpoints.use_scalers").label == "Apply the Training page's standardization"
    rows = [[10.0, -1.0], [4.0, -2.0]]
    at.text_input(key="checkpoints.inputs").set_value(json.dumps(rows)).run()
    expected = trained.predict(torch.tensor(rows))
    assert frame_with(at, "predicted target")["predicted target"].tolist() == pytest.approx(expected[:, 0].tolist(), rel=1e-6)


def test_a_saved_file_predicts_right_in_a_new_session_from_its_own_statistics(open_page) -> None:
    # Downloaded from one session, opened in another with no trained model: the file alone must do.
    trained, _ = trained_model(linear=True)
    data = trained_file_bytes(trained.model, trained.x_scaler, trained.y_scaler)
    at = upload(open_page(PAGE), "model.pth", data)
    assert at.radio(key="checkpoints.target").value == "linear"
    assert at.checkbox(key="checkpoints.use_scalers").value
    rows = [[10.0, -1.0], [13.5, 0.0]]
    at.text_input(key="checkpoints.inputs").set_value(json.dumps(rows)).run()
    expected = trained.predict(torch.tensor(rows))
    predicted = frame_with(at, "predicted y0")["predicted y0"].tolist()
    assert predicted == pytest.approx(expected[:, 0].tolist(), rel=1e-6)
    raw = trained.model(torch.tensor(rows)).detach()[:, 0].tolist()
    assert predicted != pytest.approx(raw, rel=1e-3)  # the statistics matter: without them it is far off


def test_a_classifier_from_the_training_page_predicts_logit_probability_and_class(open_page) -> None:
    from torchstart.builtin_datasets import make_builtin
    from torchstart.training import start_run, train
    from torchstart.training import trained_model as hand_off
    from torchstart.training_setup import BCE, TrainingConfig

    run = train(start_run(TrainingConfig(data="session", loss=BCE, optimizer="Adam", lr=0.05),
                          make_builtin("two_class")), 30)
    at = open_with(open_page, **{session.TRAINED: hand_off(run)})
    at.button(key="checkpoints.use_saved").click().run()
    at.text_input(key="checkpoints.inputs").set_value("[[2, 2], [-2, -2]]").run()
    table = frame_with(at, "logit label")
    logits = run.model.eval()(torch.tensor([[2.0, 2.0], [-2.0, -2.0]])).detach()[:, 0]
    assert table["logit label"].tolist() == pytest.approx(logits.tolist(), rel=1e-6)
    assert table["P(label = 1)"].tolist() == pytest.approx(torch.sigmoid(logits).tolist(), rel=1e-6)
    assert table["predicted label"].tolist() == [1, 0]
    shown = next(d for d in at.dataframe if "logit label" in d.value.columns)
    assert json.loads(shown.proto.columns)["predicted label"] == {"pinned": True}  # the answer stays in view
    assert any("outputs are logits" in c.value for c in at.caption)


def test_inferred_linear_from_the_step_one_file(open_page) -> None:
    at = open_page(PAGE)
    at.number_input(key="checkpoints.linear_in").set_value(3).run()
    at.number_input(key="checkpoints.linear_out").set_value(2).run()
    at.number_input(key="checkpoints.seed").set_value(11).run()
    at.button(key="checkpoints.use_saved").click().run()
    assert not at.exception
    table = frame_with(at, "numel")
    torch.manual_seed(11)
    layer = nn.Linear(3, 2)
    saved = io.BytesIO()
    torch.save(layer.state_dict(), saved)
    size = next(m for m in at.metric if m.label == "File size")
    assert size.value == f"{len(saved.getvalue()) / 1024:.1f} KB"
    assert size.help.startswith(f"{len(saved.getvalue()):,} bytes. This page counts 1 KB = 1,024 bytes")
    assert table["key"].tolist() == ["weight", "bias"]
    assert table["mean"].tolist() == pytest.approx([layer.weight.mean().item(), layer.bias.mean().item()])
    assert at.radio(key="checkpoints.target").value == "linear"
    at.text_input(key="checkpoints.inputs").set_value("[[1, 2, 3]]").run()
    got = frame_with(at, "predicted y0")[["predicted y0", "predicted y1"]].values.tolist()[0]
    assert got == pytest.approx(layer(torch.tensor([[1.0, 2.0, 3.0]]))[0].tolist(), rel=1e-6)
    at.text_input(key="checkpoints.inputs").set_value("[[1, 2]]").run()
    assert "takes 3 input features" in at.error[0].value
    assert at.text_input(key="checkpoints.inputs").value == "[[1, 2]]"  # what was typed stays
    # histogram of the chosen tensor: bar heights are torch.histogram's counts
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    counts, _ = torch.histogram(layer.weight.detach().double().flatten(), bins=40)
    assert spec["data"][0]["y"] == counts.tolist()
    # a file of another width starts its inputs box from a row that fits
    upload(at, "wide.pth", torch_bytes(nn.Linear(5, 1).state_dict()))
    assert at.text_input(key="checkpoints.inputs").value == str([[0.5] * 5]) and not at.error


def test_nested_checkpoint_is_browsed_and_its_model_part_loaded(open_page) -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 3)).pow(2).mean().backward()
        opt.step()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    built = SessionModel(name="MLP", module=nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)),
                         build=lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)),
                         input_shape=(3,), output_shape=(1,))
    at = open_with(open_page, **{session.MODEL: built})
    upload(at, "checkpoint.pth", torch_bytes(checkpoint))
    tree = json.loads(at.json[0].proto.body)
    assert tree["epoch"] == 3 and tree["model"]["0.weight"] == "tensor float32 [4, 3]"
    assert tree["optimizer"]["state"]["0"]["exp_avg"] == "tensor float32 [4, 3]"
    table = frame_with(at, "numel")
    assert "optimizer/state/2/exp_avg_sq" in table["key"].tolist()
    assert table["numel"].sum() == 3 * sum(p.numel() for p in model.parameters()) + 4  # + 4 step counters
    part = at.selectbox(key="checkpoints.part")
    assert part.value == "model" and "optimizer/state/0" in part.options
    assert at.radio(key="checkpoints.target").value == "models"
    assert "accepted all 4 keys" in at.success[-1].value
    assert built.module.state_dict()["0.weight"].ne(model.state_dict()["0.weight"]).any()  # untouched
    at.text_input(key="checkpoints.inputs").set_value("[[0.1, 0.2, 0.3]]").run()
    expected = model.eval()(torch.tensor([[0.1, 0.2, 0.3]])).item()
    assert frame_with(at, "predicted y0")["predicted y0"].tolist() == pytest.approx([expected], rel=1e-6)
    assert any(c.value.startswith("These are the model's raw outputs: nothing in the file says what they mean")
               for c in at.caption)
    # the optimizer's per-parameter state is not a model: strict loading is refused with the reason
    at.selectbox(key="checkpoints.part").set_value("optimizer/state/0").run()
    assert not at.exception
    assert "would refuse this" in at.warning[0].value
    statuses = set(frame_with(at, "status")["status"])
    assert {"missing from file", "unexpected (not in model)"} <= statuses


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_upload_is_refused_with_nothing_run(open_page, tmp_path, case) -> None:
    _, build, step, phrase, names = case
    marker = tmp_path / "pwned"
    at = open_page(PAGE)
    upload(at, "evil.pth", build(marker))
    assert len(at.error) == 1
    assert phrase in at.error[0].value
    for name in names:
        assert name in at.error[0].value
    assert ui.LOADED not in at.session_state
    assert at.session_state[ui.REFUSAL]["step"] == step
    assert not at.get("plotly_chart")
    assert not marker.exists()


def test_refusal_keeps_the_previous_checkpoint(open_page, tmp_path) -> None:
    at = open_page(PAGE)
    at.button(key="checkpoints.use_saved").click().run()
    kept = at.session_state[ui.LOADED]["checkpoint"]
    marker = tmp_path / "pwned"
    upload(at, "evil.pth", HOSTILE[0][1](marker))
    assert "posix.system" in at.error[0].value
    assert at.session_state[ui.LOADED]["checkpoint"] is kept
    assert "linear.pth" in at.info[0].value
    assert frame_with(at, "numel")["key"].tolist() == ["weight", "bias"]
    assert not marker.exists()
    # a good upload replaces it; clearing the uploader then clears what it had loaded
    upload(at, "good.pth", torch_bytes(good_state_dict()))
    assert at.session_state[ui.LOADED]["checkpoint"].name == "good.pth" and not at.error
    at.file_uploader(key="checkpoints.upload").set_value(None).run()
    assert ui.LOADED not in at.session_state and not at.dataframe[1:]


def test_size_cap_refuses_before_reading(open_page, monkeypatch) -> None:
    data = torch_bytes(good_state_dict())
    monkeypatch.setattr(safety, "MAX_CHECKPOINT_BYTES", len(data) - 1)
    at = open_page(PAGE)
    upload(at, "big.pth", data)
    assert "capped at" in at.error[0].value
    assert at.session_state[ui.REFUSAL]["step"] == "size"


# ---------------------------------------------------------------- browser

def grid_cells(frame) -> list[str]:
    """Cell texts of an st.dataframe (drawn on a canvas; the grid keeps an accessible copy)."""
    frame.locator("table").first.wait_for(state="attached")
    return frame.locator("td").all_text_contents()


@pytest.mark.browser
@pytest.mark.slow
def test_download_then_upload_in_chromium(page, tmp_path) -> None:
    open_app(page, "checkpoints")
    with page.expect_download() as download_info:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    torch.manual_seed(0)
    expected = nn.Linear(1, 1).state_dict()
    assert all(torch.equal(torch.load(path, weights_only=True)[k], v) for k, v in expected.items())

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    wait_for_run(page)
    page.get_by_text("passed all four checks").wait_for()
    expect(page.get_by_role("heading", name="3. Inside linear.pth")).to_be_visible()
    # The size help names what the chip really reads (Streamlit counts 1,000 bytes to the KB there).
    expect(page.get_by_test_id("stFileChip").first).to_contain_text(uploader_reading(path.stat().st_size))
    # The inspection's metrics can paint a moment after the headings around them: a retrying check.
    expect(page.get_by_test_id("stMetric").filter(has_text="Tensors")).to_contain_text("2")
    cells = grid_cells(page.get_by_test_id("stDataFrame").nth(1))
    assert cells[:3] == ["weight", "[1, 1]", "float32"] and "bias" in cells

    inputs = page.get_by_label("Inputs: rows of 1 number (x0)")
    inputs.fill("[[2.0]]")
    inputs.press("Enter")
    wait_for_run(page)
    value = expected["weight"].item() * 2.0 + expected["bias"].item()
    predictions = page.get_by_test_id("stDataFrame").last
    # The answer is pinned first, then the input; the grid redraws late.
    expect(predictions.locator("td").nth(1)).to_have_text(re.compile(r"^2(\.0)?$"))
    y_cell, x_cell = grid_cells(predictions)
    assert float(x_cell) == 2.0 and float(y_cell) == pytest.approx(value, rel=1e-6)


@pytest.mark.browser
@pytest.mark.slow
def test_hostile_upload_in_chromium(page, tmp_path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(HOSTILE[0][1](marker))
    open_app(page, "checkpoints")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(evil))
    wait_for_run(page)
    alert = page.get_by_test_id("stAlert").filter(has_text="posix.system")
    assert "outside torch's weights-only allowlist" in alert.inner_text()
    assert not marker.exists()


def test_the_trained_models_save_code_is_the_run_that_writes_the_same_file(open_page, tmp_path,
                                                                             monkeypatch) -> None:
    from torchstart.builtin_datasets import make_builtin
    from torchstart.training import start_run, train
    from torchstart.training import trained_model as hand_off
    from torchstart.training_export import training_script
    from torchstart.training_setup import TrainingConfig

    config = TrainingConfig(data="session", model="mlp", standardize_x=True, standardize_y=True)
    run = train(start_run(config, make_builtin("line", {"n": 30, "seed": 1})), 4)
    trained = hand_off(run)
    trained.extra["script"] = training_script(run)  # as the Training page hands it over
    at = open_with(open_page, **{session.TRAINED: trained})
    name, data = at.session_state[ui.SAVED]
    code = next(c for c in code_blocks(at) if "num_epochs" in c)  # not a fresh, untrained model's save
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "train.py", "exec"), {"__name__": "__main__"})  # our generated script
    written = torch.load(tmp_path / name, weights_only=True)
    shown = torch.load(io.BytesIO(data), weights_only=True)
    assert list(written) == list(shown) == ["model", "x_mean", "x_std", "y_mean", "y_std"]
    for key, value in shown["model"].items():
        torch.testing.assert_close(written["model"][key], value, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(written["x_std"], shown["x_std"])


def uploads_in_server_memory(server_url: str) -> int:
    """Bytes in Streamlit's in-memory upload store, from the server's own metrics endpoint."""
    import urllib.request

    text = urllib.request.urlopen(f"{server_url}/_stcore/metrics", timeout=10).read().decode()
    found = re.search(r'cache_memory_bytes\{cache_type="UploadedFileManager",cache=""\} (\d+)', text)
    return int(found.group(1)) if found else 0


@pytest.mark.browser
def test_re_uploads_after_leaving_the_page_do_not_pile_up_in_server_memory(page, server_url, tmp_path) -> None:
    import time

    from tests.journey import go, write_csv

    pth = tmp_path / "weights.pth"
    pth.write_bytes(torch_bytes({"weight": torch.randn(1, 100_000), "bias": torch.zeros(1)}))
    csv = write_csv(tmp_path / "houses.csv", rows=2_000)
    open_app(page, "")
    before = uploads_in_server_memory(server_url)  # other tests' sessions share this server
    for _ in range(3):  # the browser asks to delete a replaced file only while its uploader is on screen
        go(page, "Data")  # by the sidebar: one session throughout
        rerun_after(page, page.get_by_text("Upload a CSV").click)
        rerun_after(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv)))
        # From the second round the page shows the kept file until it has read the new one.
        expect(page.get_by_text("the last file that loaded in this session", exact=False)).to_have_count(0)
        page.get_by_text("Rows kept").wait_for()
        wait_for_run(page)
        go(page, "Checkpoints")
        rerun_after(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(pth)))
        expect(page.get_by_text("the last file that passed in this session", exact=False)).to_have_count(0)
        page.get_by_text("passed all four checks").wait_for()
        wait_for_run(page)
        go(page, "Tensors")
    # Only the files the uploaders last held may stay: one CSV and one .pth, not three of each.
    expected = before + pth.stat().st_size + csv.stat().st_size
    deadline = time.monotonic() + 15  # the metric may be a few seconds old
    while uploads_in_server_memory(server_url) > expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert uploads_in_server_memory(server_url) <= expected


def test_a_visit_to_another_page_keeps_the_uploaded_checkpoint(open_page) -> None:
    at = upload(open_page(PAGE), "good.pth", torch_bytes(good_state_dict()))
    kept = at.session_state[ui.LOADED]["checkpoint"]
    at.switch_page("pages/data.py").run()  # Streamlit forgets the uploader's file here
    at.switch_page(PAGE).run()
    assert not at.exception and at.session_state[ui.LOADED]["checkpoint"] is kept
    assert any("Below: **good.pth**, the last file that passed in this session" in c.value for c in at.caption)
    assert frame_with(at, "numel")["key"].tolist() == list(good_state_dict())
    at.run()  # a rerun on the page itself changes nothing
    assert at.session_state[ui.LOADED]["checkpoint"] is kept


@pytest.mark.browser
def test_an_uploaded_file_survives_a_page_visit_and_leaves_when_cleared_in_chromium(page, tmp_path) -> None:
    path = tmp_path / "good.pth"
    path.write_bytes(torch_bytes(good_state_dict()))
    open_app(page, "checkpoints")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    wait_for_run(page)
    page.get_by_text("good.pth passed all four checks").wait_for()
    go(page, "Data")
    go(page, "Checkpoints")  # Streamlit has emptied the uploader: the checked file stays
    expect(page.get_by_text("good.pth passed all four checks")).to_be_visible()
    expect(page.get_by_text("the last file that passed in this session", exact=False)).to_be_visible()
    rerun_after(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path)))
    expect(page.get_by_text("the last file that passed in this session", exact=False)).to_have_count(0)
    rerun_after(page, page.get_by_test_id("stFileChipDeleteBtn").first.click)  # the learner clears it: it goes
    expect(page.get_by_text("passed all four checks")).to_have_count(0)


def test_clearing_a_refused_upload_keeps_the_file_that_passed_before(open_page) -> None:
    at = upload(open_page(PAGE), "good.pth", torch_bytes(good_state_dict()))
    kept = at.session_state[ui.LOADED]["checkpoint"]
    upload(at, "bad.pth", b"this is not a checkpoint at all" * 10)
    assert at.error and "Below is still **good.pth**" in at.info[0].value
    at.file_uploader(key="checkpoints.upload").set_value(None).run()  # the learner removes the refused file
    assert at.session_state[ui.LOADED]["checkpoint"] is kept and not at.error


@pytest.mark.parametrize("bad", [b"this is not a checkpoint at all" * 10, b""], ids=["text", "empty"])
def test_a_refused_file_picked_over_one_that_passed_keeps_it(open_page, bad) -> None:
    # The browser sends a replacement as two changes: the old file cleared, then the new one added.
    at = upload(open_page(PAGE), "good.pth", torch_bytes(good_state_dict()))
    kept = at.session_state[ui.LOADED]["checkpoint"]
    at.file_uploader(key="checkpoints.upload").set_value(None).run()
    assert ui.LOADED not in at.session_state and not at.dataframe[1:]
    upload(at, "bad.pth", bad)
    assert at.error and "Below is still **good.pth**" in at.info[0].value
    assert at.session_state[ui.LOADED]["checkpoint"] is kept
    assert frame_with(at, "numel")["key"].tolist() == list(good_state_dict())
    upload(at, "good2.pth", torch_bytes(good_state_dict()))  # a file that passes leaves nothing set aside
    assert ui.CLEARED not in at.session_state and not at.error


@pytest.mark.browser
def test_a_refused_file_picked_over_one_that_passed_keeps_it_in_chromium(page, tmp_path) -> None:
    good, bad = tmp_path / "good.pth", tmp_path / "notes.pth"
    good.write_bytes(torch_bytes(good_state_dict()))
    bad.write_text("this is a text file renamed to .pth\n")
    open_app(page, "checkpoints")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(good))
    wait_for_run(page)
    page.get_by_text("good.pth passed all four checks").wait_for()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    wait_for_run(page)
    expect(page.get_by_text("Below is still good.pth, the last file that passed.")).to_be_visible()
    expect(page.get_by_role("heading", name="3. Inside good.pth")).to_be_visible()


def test_huge_predictions_keep_their_exponent_and_an_overflow_reads_inf_with_a_note(open_page) -> None:
    state = {"weight": torch.tensor([[10.0]]), "bias": torch.zeros(1)}
    at = upload(open_page(PAGE), "big.pth", torch_bytes(state))
    at.text_input(key="checkpoints.inputs").set_value("[[2.0], [1e15], [9.7e28], [1e38]]").run()
    table = frame_with(at, "predicted y0")
    # Streamlit dropped the format of numbers of 2**53 or more (9.7e29 read "9.706755547"): they are text here.
    assert table["predicted y0"].tolist() == ["20", "1e+16", "9.7e+29", "inf"]
    assert table["x0"].tolist() == ["2", "1e+15", "9.7e+28", "1e+38"]
    assert any("**inf** is a number beyond float32's largest" in c.value for c in at.caption)
    at.text_input(key="checkpoints.inputs").set_value("[[2.0], [0.5]]").run()
    assert frame_with(at, "predicted y0")["predicted y0"].tolist() == [20.0, 5.0]  # numbers, no note
    assert not any("**inf** is a number" in c.value for c in at.caption)


def test_a_run_left_mid_way_is_offered_with_the_epochs_it_reached(open_page) -> None:
    from pages._training_ui import RUN
    from torchstart.training import TrainingConfig, start_run, train

    run = train(start_run(TrainingConfig()), 7)
    run.ask_for(1000)  # what Train had asked for when the learner opened another page mid-run
    at = open_page(PAGE)
    at.session_state[RUN] = run
    at.run()
    assert not at.exception
    trained = at.session_state[session.TRAINED]
    assert trained.extra["epochs"] == 7 and ", 7 epochs," in trained.description
    assert all(torch.equal(a, b) for a, b in zip(trained.model.state_dict().values(),
                                                  run.model.state_dict().values()))
    at.radio(key="checkpoints.save_source").set_value("trained").run()
    assert any("weights after epoch 7 of 1,007" in c.value for c in at.caption)


def test_a_run_the_header_stop_ended_is_not_promised_to_carry_on(open_page) -> None:
    from pages._training_ui import RUN
    from pages._ui import HEADER_STOPPED
    from torchstart.training import TrainingConfig, start_run, train

    run = train(start_run(TrainingConfig()), 5)
    run.ask_for(1000)
    at = open_page(PAGE)
    at.session_state[RUN] = run
    at.session_state[HEADER_STOPPED] = {"training"}  # Streamlit's own Stop ended it: Training will stop it
    at.run()
    at.radio(key="checkpoints.save_source").set_value("trained").run()
    assert not at.exception and at.session_state[session.TRAINED].extra["epochs"] == 5
    assert not any("carries on" in c.value for c in at.caption)


def test_a_file_name_cannot_put_a_link_into_the_heading(open_page) -> None:
    name = "[click here](https://evil.example) $x$.pth"
    at = upload(open_page(PAGE), name, torch_bytes(good_state_dict()))
    (heading,) = [h.value for h in at.header if h.value.startswith("3. Inside")]
    assert heading == f"3. Inside {md_safe(name)}" and "](" not in heading and "\\$x\\$" in heading


def test_a_models_page_model_takes_the_data_pages_names_and_shows_row_0s_true_value(open_page) -> None:
    torch.manual_seed(0)
    build = lambda: nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))  # noqa: E731
    model = build()
    built = SessionModel(name="MLP", module=build(), build=build, input_shape=(2,), output_shape=(1,))
    data = TabularDataset(torch.tensor([[1.5, 2.0], [3.0, -1.0], [0.25, 4.0]]), torch.tensor([[7.0], [8.0], [9.0]]),
                          ["size", "rooms"], ["price"], "houses.csv")
    at = open_with(open_page, **{session.MODEL: built, session.DATASET: data})
    upload(at, "mlp.pth", torch_bytes(model.state_dict()))
    assert at.radio(key="checkpoints.target").value == "models"
    box = at.text_input(key="checkpoints.inputs")
    assert box.value == "[[1.5, 2]]" and "(size, rooms)" in box.label  # row 0, under the Data page's names
    table = frame_with(at, "predicted price")
    assert list(table.columns) == ["size", "rooms", "true price", "predicted price"]
    with torch.no_grad():
        expected = model(data.features[:1]).item()
    assert table["true price"].tolist() == ["7"]
    assert table.drop(columns="true price").iloc[0].tolist() == pytest.approx([1.5, 2.0, expected], rel=1e-6)
    box.set_value("[[3, -1], [5, 5]]").run()  # row 1 of the data, and a row that is not in it
    table = frame_with(at, "predicted price")
    assert table["true price"].tolist() == ["8", "—"]  # a row that is not in the data has no true value

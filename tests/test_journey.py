"""The whole learner journey in one browser session, and sessions kept apart from each other."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.browser import expect, main_text, open_app, rerun_after, wait_for_run
from tests.journey import choose, fill, go, logged_losses, table_numbers, upload_csv, write_csv
from torchstart import session

INPUT_ROW = "[[3.0, 2.0]]"


@pytest.mark.browser
@pytest.mark.slow
def test_csv_to_mlp_to_training_to_pth_to_prediction(page, tmp_path) -> None:
    # Data: the learner's CSV becomes the session's dataset.
    upload_csv(page, write_csv(tmp_path / "houses.csv"), target="price")

    # Models: an MLP whose input (2 features) and output (1 target) fit that data.
    go(page, "Models")
    choose(page, "Start from a preset", "MLP")
    expect(page.get_by_test_id("stMain")).to_contain_text("MLP: 2 → 1")

    # Training: that dataset, that model; the loss falls.
    go(page, "Training")
    choose(page, "Data", "Dataset from the Data page")
    page.get_by_role("tab", name="Model", exact=True).click()
    choose(page, "Model", "Model from the Models page")
    page.get_by_role("tab", name="Epochs, batches, seed").click()
    fill(page, "Epochs", "400")
    rerun_after(page, page.get_by_test_id("stMain").get_by_role("button", name="Train").click)
    expect(page.get_by_test_id("stMain")).to_contain_text("Epoch [400/400]")
    losses = logged_losses(page)
    assert len(losses) == 40 and losses[-1] < 0.5 * losses[0], losses
    fill(page, "Predict for new inputs (size, age)", INPUT_ROW)
    trained_prediction = table_numbers(page, "size", "age", "predicted price", then=[3.0, 2.0])[0]  # pinned first

    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download model (.pth)").click()
    pth = tmp_path / "model.pth"
    download.value.save_as(pth)
    state = torch.load(pth, weights_only=True)
    mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    # The page's class names its layers (fc1, ...); in order, the tensors are a Sequential's.
    assert [v.shape for v in state.values()] == [v.shape for v in mlp.state_dict().values()]
    mlp.load_state_dict(dict(zip(mlp.state_dict(), state.values())))
    assert mlp(torch.tensor([[3.0, 2.0]])).item() == pytest.approx(trained_prediction, abs=1e-3)

    # Checkpoints: the downloaded file, uploaded, loads into the trained model and predicts the same.
    go(page, "Checkpoints")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(pth))
    wait_for_run(page)
    page.get_by_text("passed all four checks").wait_for()
    page.get_by_text("accepted all 6 keys").wait_for()
    fill(page, "Inputs: rows of 2 numbers (size, age)", INPUT_ROW)
    loaded_prediction = table_numbers(page, "size", "age", "predicted price", then=[3.0, 2.0])[0]
    assert loaded_prediction == pytest.approx(trained_prediction, abs=1e-4)


@pytest.mark.browser
@pytest.mark.slow
def test_two_browser_sessions_never_see_each_others_data_or_model(browser, server_url, tmp_path) -> None:
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    alice, bob = (c.new_page() for c in contexts)
    for pg in (alice, bob):
        pg.base_url = server_url
    open_app(bob, "")  # Bob is connected the whole time Alice works.

    upload_csv(alice, write_csv(tmp_path / "alice_secret.csv"), target="price")
    go(alice, "Training")
    choose(alice, "Data", "Dataset from the Data page")
    rerun_after(alice, alice.get_by_test_id("stMain").get_by_role("button", name="Train").click)
    expect(alice.get_by_test_id("stMain")).to_contain_text("Epoch [100/100]")

    go(bob, "Data")
    assert "alice_secret" not in main_text(bob)
    go(bob, "Training")
    choose(bob, "Data", "Dataset from the Data page")
    # Bob sees his own Data-page dataset, the default example, not Alice's upload.
    expect(bob.get_by_test_id("stMain")).to_contain_text("3-row inputs/targets example from the Data page")
    assert "alice_secret" not in main_text(bob)
    go(bob, "Checkpoints")
    expect(bob.get_by_test_id("stMain")).to_contain_text("Train a model on the Training page and it is offered here")
    assert "Training page's trained model" not in main_text(bob)
    go(alice, "Checkpoints")
    assert "Training page's trained model" in main_text(alice)
    for c in contexts:
        c.close()


def test_two_apptest_sessions_keep_their_own_state(open_page, tmp_path) -> None:
    csv = write_csv(tmp_path / "mine.csv").read_bytes()
    alice = open_page("pages/data.py")
    alice.radio(key="data.source").set_value(alice.radio(key="data.source").options[1]).run()
    alice.file_uploader[0].set_value(("mine.csv", csv, "text/csv")).run()
    assert not alice.exception
    assert alice.session_state[session.DATASET].name.startswith("mine.csv")
    bob = open_page("pages/data.py")
    bob_dataset = bob.session_state[session.DATASET] if session.DATASET in bob.session_state else None
    assert bob_dataset is None or not bob_dataset.name.startswith("mine.csv")
    assert session.TRAINED not in bob.session_state


@pytest.mark.browser
def test_a_standardized_runs_pth_predicts_the_same_in_a_new_session(page, browser, server_url, tmp_path) -> None:
    from tests.test_training_browser import button, open_training

    # Session 1: a synthetic line trained on standardized x and y; its prediction for x = 5; the download.
    open_training(page)
    choose(page, "Data", "Synthetic line (slope, intercept, noise)")
    for box in ("Standardize features", "Standardize target"):
        rerun_after(page, page.get_by_test_id("stMain").get_by_text(box, exact=True).click)
    rerun_after(page, button(page, "Train").click)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Epoch 100 / 100")
    fill(page, "Predict for new input (x)", "5")
    trained = table_numbers(page, "x", "predicted y", then=[5.0])[0]
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download model (.pth)").click()
    pth = tmp_path / "model.pth"
    download.value.save_as(pth)
    saved = torch.load(pth, weights_only=True)
    assert list(saved) == ["model", "x_mean", "x_std", "y_mean", "y_std"]
    model = nn.Linear(1, 1)
    model.load_state_dict(saved["model"])
    raw = model(torch.tensor([[5.0]])).item()  # the weights alone, fed a raw input: far off
    assert raw != pytest.approx(trained, abs=0.5)

    # Session 2 (another browser context: no trained model there) reads the statistics from the file.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        other.base_url = server_url
        open_app(other, "checkpoints")
        other.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(pth))
        wait_for_run(other)
        other.get_by_text("passed all four checks").wait_for()
        expect(other.get_by_role("checkbox", name="Apply the standardization saved in the file")).to_be_checked()
        fill(other, "Inputs: rows of 1 number (x0)", "[[5.0]]")
        loaded = table_numbers(other, "x0", "predicted y0", then=[5.0])[0]
        assert loaded == pytest.approx(trained, abs=1e-4)
    finally:
        context.close()

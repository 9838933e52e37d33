"""Training page in a real browser: train the classic run, stop and continue a long run, download the .pth."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from tests.browser import (CUT_TEXT_JS, Page, expect, main_text, open_app, rerun_after, rerun_until, streamlit_stop,
                           wait_for_run)
from tests.journey import choose, fill, go, upload_csv, write_csv
from tests.test_training_core import plain_classic


def open_training(page: Page) -> None:
    """Open the home page first (so the server runs the app's frame), then the Training page from the sidebar."""
    open_app(page, "")
    go(page, "Training")


def button(page: Page, name: str):
    """A button of the page itself (Streamlit's header has its own Stop while a script runs)."""
    return page.get_by_test_id("stMain").get_by_role("button", name=name)


def download_pth(page: Page, tmp_path) -> dict[str, torch.Tensor]:
    """Click the .pth download and load the file the browser saved, the safe way."""
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download model (.pth)").click()
    path = tmp_path / "model.pth"
    info.value.save_as(path)
    return torch.load(path, weights_only=True)


def stopped_epoch(page: Page) -> int:
    """The epoch number in the page's 'Stopped after epoch N' note."""
    found = re.search(r"Stopped after epoch ([\d,]+)", main_text(page))
    assert found, main_text(page)[-1500:]
    return int(found.group(1).replace(",", ""))


@pytest.mark.browser
def test_default_run_trains_live_and_downloads_a_loadable_pth(page: Page, tmp_path) -> None:
    open_training(page)
    rerun_after(page, button(page, "Train").click)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Epoch 100 / 100")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    text = main_text(page)
    _, losses, log = plain_classic()
    assert log[0] in text and log[-1] in text and "Epoch 100 / 100" in text
    model = nn.Linear(1, 1)
    model.load_state_dict(download_pth(page, tmp_path))
    plain_model, _, _ = plain_classic()
    five = torch.tensor([[5.0]])
    assert model(five).item() == pytest.approx(plain_model(five).item(), abs=1e-6)


def open_long_run(page: Page) -> None:
    """The Training page set to 100,000 epochs of the classic run: long enough to stop part-way."""
    open_training(page)
    page.get_by_role("tab", name="Epochs, batches, seed").click()
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("100000")
    epochs.press("Enter")
    wait_for_run(page)
    expect(button(page, "Continue +100,000 epochs")).to_be_visible()  # the new setting took effect


def start_long_run(page: Page) -> None:
    """Press Train on the 100,000-epoch run and wait until its live progress shows."""
    open_long_run(page)
    button(page, "Train").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("epochs/s")


@pytest.mark.browser
def test_stop_and_continue_a_long_run(page: Page, tmp_path) -> None:
    open_long_run(page)
    button(page, "Train").click()
    stop = button(page, "Stop")
    expect(stop).to_be_enabled()
    expect(page.get_by_test_id("stProgress")).to_contain_text("epochs/s")  # live progress while it runs
    page.wait_for_timeout(800)
    stop.click()
    wait_for_run(page)
    first = stopped_epoch(page)
    assert 0 < first < 100_000
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    expect(page.get_by_test_id("stProgress")).to_contain_text(f"Epoch {first:,} / 100,000 (stopped)")

    button(page, "Continue").click()
    expect(stop).to_be_enabled()
    expect(page.get_by_test_id("stProgress")).not_to_contain_text("(stopped)")  # the new run is under way
    page.wait_for_timeout(800)
    stop.click()
    wait_for_run(page)
    second = stopped_epoch(page)
    assert first < second < 200_000
    state = download_pth(page, tmp_path)
    assert set(state) == {"weight", "bias"} and torch.isfinite(state["weight"]).all()


@pytest.mark.browser
def test_clicks_while_training_do_not_stop_the_run(page: Page) -> None:
    start_long_run(page)
    toggle = page.get_by_test_id("stMain").get_by_text("Log-scale loss axis")
    for i in range(30):  # each click reruns the script mid-epoch; it used to read like the header's Stop
        toggle.click()
        page.wait_for_timeout(300 + 100 * (i % 6))
    expect(button(page, "Stop")).to_be_enabled()
    assert "Stopped after epoch" not in main_text(page)
    expect(page.get_by_test_id("stProgress")).not_to_contain_text("(stopped)")
    button(page, "Stop").click()
    wait_for_run(page)
    assert 0 < stopped_epoch(page) < 100_000


@pytest.mark.browser
def test_leaving_mid_run_offers_its_weights_on_checkpoints_and_it_carries_on_after(page: Page) -> None:
    start_long_run(page)
    page.wait_for_timeout(800)
    go(page, "Checkpoints")
    page.get_by_test_id("stMain").get_by_text("Training page's trained model", exact=True).click()
    wait_for_run(page)
    text = main_text(page)
    found = re.search(r"weights after epoch ([\d,]+) of 100,000", text)
    assert found, text[:3000]
    left_at = int(found.group(1).replace(",", ""))
    assert 0 < left_at < 100_000 and f"{left_at:,} epochs" in text  # the file's description says the same
    # Not go(): it waits for the page's run to end, and this one trains on from where it was left.
    page.get_by_test_id("stSidebarNav").get_by_text("Training", exact=True).click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("epochs/s")
    expect(button(page, "Stop")).to_be_enabled()
    page.wait_for_timeout(500)
    button(page, "Stop").click()
    wait_for_run(page)
    assert left_at < stopped_epoch(page) < 100_000


@pytest.mark.browser
def test_streamlit_header_stop_stops_the_run_like_the_page_stop(page: Page) -> None:
    start_long_run(page)
    page.wait_for_timeout(500)
    streamlit_stop(page)
    # Any later rerun shows the run stopped; it used to quietly carry on training instead.
    rerun_until(page, "Stopped after epoch")
    first = stopped_epoch(page)
    assert 0 < first < 100_000
    expect(page.get_by_test_id("stProgress")).to_contain_text(f"Epoch {first:,} / 100,000 (stopped)")
    expect(button(page, "Continue +100,000 epochs")).to_be_enabled()
    page.locator("body").press("r")
    wait_for_run(page)
    assert stopped_epoch(page) == first


@pytest.mark.browser
@pytest.mark.slow
def test_uploaded_csv_trains_stops_continues_and_downloads(page: Page, tmp_path) -> None:
    upload_csv(page, write_csv(tmp_path / "houses.csv"), target="price")
    # To Training in the same browser session (a new URL would start a new session without the dataset).
    go(page, "Training")
    choose(page, "Data", "Dataset from the Data page")
    assert "houses.csv" in main_text(page) and "features size, age" in main_text(page)
    page.get_by_role("tab", name="Epochs, batches, seed").click()
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("100000")
    epochs.press("Enter")
    wait_for_run(page)
    expect(button(page, "Continue +100,000 epochs")).to_be_visible()
    button(page, "Train").click()
    stop = button(page, "Stop")
    expect(stop).to_be_enabled()
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("epochs/s")  # training, not just started
    page.wait_for_timeout(600)
    stop.click()
    wait_for_run(page)
    first = stopped_epoch(page)
    button(page, "Continue").click()
    expect(stop).to_be_enabled()
    expect(progress).not_to_contain_text("(stopped)")
    expect(progress).to_contain_text("epochs/s")
    page.wait_for_timeout(600)
    stop.click()
    wait_for_run(page)
    assert 0 < first < stopped_epoch(page) < 200_000
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    model = nn.Linear(2, 1)
    model.load_state_dict(download_pth(page, tmp_path))
    # The data is exactly price = 2·size − age + 1: a linear model trained this long gets close.
    assert model.weight.detach().flatten().tolist() == pytest.approx([2.0, -1.0], abs=0.1)


def train_classifier(page: Page, loss: str, model: str = "", via_hint: bool = False) -> tuple[float, float]:
    """Training page: the Data page's dataset, ``model`` (if given), ``loss`` (with ``via_hint``, picked by the
    Data tab's suggestion button), Adam at lr 0.05, 100 epochs; the final losses."""
    go(page, "Training")
    choose(page, "Data", "Dataset from the Data page")
    if via_hint:  # the default loss, MSE, does not fit class targets: the Data tab says which does
        expect(page.get_by_test_id("stMain")).to_contain_text("MSE would fit")
        rerun_after(page, button(page, f"Use {loss}").click)
        expect(page.get_by_role("button", name=f"Use {loss}")).to_have_count(0)
    if model:
        page.get_by_role("tab", name="Model", exact=True).click()
        choose(page, "Model", model)
    page.get_by_role("tab", name="Loss & optimizer").click()
    choose(page, "Loss", loss)
    choose(page, "Optimizer", "Adam")
    fill(page, "Learning rate", "0.05")
    rerun_after(page, button(page, "Train").click)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Epoch 100 / 100")
    expect(page.get_by_text("How well it classifies", exact=True)).to_be_visible()
    assert not page.locator('[data-testid="stException"]').count()
    text = main_text(page)
    final = re.search(r"Epoch \[100/100\], Loss: ([-\d.eE+]+), Val loss: ([-\d.eE+]+)", text)
    assert final, text[-2000:]
    return float(final.group(1)), float(final.group(2))


@pytest.mark.browser
def test_two_classes_from_the_data_page_train_as_a_classifier(page: Page) -> None:
    open_app(page, "data")
    choose(page, "Dataset", "Two classes")
    expect(page.get_by_test_id("stMain")).to_contain_text("Two Gaussian blobs in 2-D")  # the new dataset is in
    final = train_classifier(page, "BCEWithLogits (0/1 classes)", via_hint=True)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    expect(page.get_by_text("Decision boundary: where P(label = 1) = 0.5")).to_be_visible()
    assert max(final) < 0.2  # log(2) = 0.69 is a coin toss


def write_iris_like(path, rows: int = 90):
    """An iris-shaped CSV: four measurements and a text species column last, three separable classes."""
    gen = torch.Generator().manual_seed(1)
    names = ["setosa", "versicolor", "virginica"]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for i in range(rows):
        k = i % 3
        centre = torch.tensor([5.0 + k, 3.4 - 0.3 * k, 1.5 + 2.2 * k, 0.2 + 0.9 * k])
        values = centre + 0.15 * torch.randn(4, generator=gen)
        lines.append(",".join(f"{v:.2f}" for v in values.tolist()) + f",{names[k]}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.browser
def test_an_uploaded_iris_csv_trains_a_three_class_classifier(page: Page, tmp_path) -> None:
    upload_csv(page, write_iris_like(tmp_path / "iris.csv"))
    expect(page.get_by_text("one-hot encoded into 3 classes")).to_be_visible()
    final = train_classifier(page, "CrossEntropy (classes)", via_hint=True)
    expect(page.get_by_text("Confusion matrix (validation rows)")).to_be_visible()
    assert max(final) < 0.3  # log(3) = 1.10 is guessing


@pytest.mark.browser
def test_run_buttons_read_whole_beside_the_sidebar(page: Page) -> None:
    # At 1024 px the sidebar leaves about 535 px: fixed-ratio columns cut the labels to "T.", "S.", "R.".
    page.set_viewport_size({"width": 1024, "height": 900})
    open_training(page)
    for name in ("Train", "Stop", "Continue +100 epochs", "Reset"):
        found = page.get_by_test_id("stMain").get_by_role("button", name=name, exact=True)  # not "Reset axes"
        assert not found.evaluate(CUT_TEXT_JS), f"{name!r} is cut"


@pytest.mark.browser
def test_the_models_page_fits_an_mlp_to_an_uploaded_iris_in_one_click(page: Page, tmp_path) -> None:
    upload_csv(page, write_iris_like(tmp_path / "iris.csv"))
    go(page, "Models")
    choose(page, "Start from a preset", "MLP")
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("The Data page's dataset has 4 features and 3 classes (one output each)")
    rerun_after(page, main.get_by_role("button", name="Fit the model to this dataset").click)
    expect(main).to_contain_text("This model fits the Data page's dataset: 4 features and 3 classes")
    expect(main).to_contain_text("MLP: 4 → 3")
    final = train_classifier(page, "CrossEntropy (classes)", model="Model from the Models page")
    page.get_by_role("tab", name="Model", exact=True).click()
    expect(main).to_contain_text("MLP: input (4,), output (3,)")  # the model that trained
    assert max(final) < 0.3  # ln 3 = 1.10 is a guess among three


@pytest.mark.browser
def test_dollar_signs_in_column_names_read_as_typed_not_as_maths(page: Page, tmp_path) -> None:
    # Streamlit sets $...$ as LaTeX in Markdown, metric values and widget labels included; a backslash typed
    # before a dollar must not turn into an escape that frees the dollar.
    csv = tmp_path / "dollars.csv"
    csv.write_text("\n".join(["$size$,cost \\$a\\$,$price$"] + [f"{i % 7},{i % 5},{2 * (i % 7) - (i % 5) + 1}"
                                                              for i in range(40)]) + "\n")
    upload_csv(page, csv, target="$price$")
    expect(page.get_by_test_id("stMetricValue").filter(has_text="$price$")).to_be_visible()
    expect(page.locator(".katex")).to_have_count(0)
    go(page, "Training")
    choose(page, "Data", "Dataset from the Data page")
    rerun_after(page, button(page, "Train").click)
    expect(page.get_by_text("Predict for new inputs ($size$, cost \\$a\\$)")).to_be_visible()
    go(page, "Checkpoints")
    rerun_after(page, page.get_by_role("button", name="Or load the file from step 1").click)
    expect(page.get_by_text("Inputs: rows of 2 numbers ($size$, cost \\$a\\$)")).to_be_visible()
    expect(page.locator(".katex")).to_have_count(0)

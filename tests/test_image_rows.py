"""Pictures as table rows: the Digits set, nn.Unflatten, a CNN trained on pixel rows, an MNIST-shaped CSV."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from functools import partial

import pytest
import torch
from torch import nn

from tests.browser import expect, main_text, open_app, rerun_after
from tests.journey import choose, fill, go, table_numbers
from tests.test_training_showcode import assert_script_matches_page, run_shown_script
from torchstart import session
from torchstart.builtin_datasets import make_builtin
from torchstart.csv_loading import load_csv
from torchstart.data_code import csv_code
from torchstart.data_figures import image_caption, image_grid_figure, image_shape, pixel_scale_note
from torchstart.data_prep import DROP, DROP_ROWS, PrepChoices, default_choices, prepare
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.model_code import handoff_code
from torchstart.model_spec import PRESETS, LayerSpec, ModelSpec, build_model, check_spec
from torchstart.synthetic import DIGIT_GLYPHS, digit_images
from torchstart.training import predict, start_run, train, trained_model
from torchstart.training_export import (CSV_NAME, CSV_VALUES_LIMIT, PT_NAME, data_csv, data_file, data_file_name,
                                        needs_csv, training_script)
from torchstart.training_metrics import evaluate, held_out_rows, row_prediction_table
from torchstart.training_setup import (CROSS_ENTROPY, EVAL_BYTES, MAX_STEP_BYTES, TrainingConfig, forward_profile,
                                      macs_per_row, preflight, prepare_data)

PIXEL_CNN = PRESETS["Small CNN on pixel rows"]


def pixel_cnn(spec: ModelSpec = PIXEL_CNN) -> session.SessionModel:
    """The preset as the Models page hands it to the Training page."""
    return session.SessionModel(spec.class_name, build_model(spec, seed=0), partial(build_model, spec),
                                spec.input_shape, check_spec(spec).output_shape, handoff_code(spec))


def glyph(digit: int) -> torch.Tensor:
    """The 21×15 picture of ``digit``: each dot of the 5×7 font as 3×3 pixels."""
    dots = torch.tensor([float(c) for c in DIGIT_GLYPHS[digit]]).view(7, 5)
    return dots.repeat_interleave(3, 0).repeat_interleave(3, 1)


# ---------------------------------------------------------------- the Digits set


def test_each_noiseless_digit_is_its_glyph_somewhere_in_28x28_and_nothing_else() -> None:
    images, labels = digit_images(60, noise=0.0, seed=5)
    assert images.shape == (60, 28, 28) and set(labels.tolist()) == set(range(10))
    for image, label in zip(images, labels.tolist()):
        brightness = image.max().item()
        assert 0.5 <= brightness <= 1.0
        places = [(top, left) for top in range(8) for left in range(14)
                  if torch.equal(image[top:top + 21, left:left + 15], brightness * glyph(label))]
        assert places, label
        top, left = places[0]
        outside = image.clone()
        outside[top:top + 21, left:left + 15] = 0
        assert not outside.any()


def test_digits_rows_are_seeded_pixels_with_one_hot_digits() -> None:
    ds = make_builtin("digits", {"n": 50, "noise": 0.3, "seed": 2})
    assert ds.features.shape == (50, 784) and ds.targets.shape == (50, 10)
    assert ds.feature_names[:2] == ["pixel0", "pixel1"] and ds.feature_names[-1] == "pixel783"
    assert ds.classes == [str(d) for d in range(10)] and ds.class_column == "digit"
    assert torch.equal(ds.targets.sum(1), torch.ones(50))
    assert 0.0 <= ds.features.min() and ds.features.max() <= 1.0 and ds.features.std() > 0.1
    images, labels = digit_images(50, 0.3, 2)
    assert torch.equal(ds.features, images.view(50, 784)) and torch.equal(ds.targets.argmax(1), labels)
    assert torch.equal(make_builtin("digits", {"n": 50, "noise": 0.3, "seed": 2}).features, ds.features)
    assert not torch.equal(make_builtin("digits", {"n": 50, "noise": 0.3, "seed": 3}).features, ds.features)
    with pytest.raises(TorchstartError, match="10,000"):
        make_builtin("digits", {"n": 10_001})


def test_square_rows_are_drawn_as_their_pictures() -> None:
    assert [image_shape(TabularDataset(torch.zeros(2, n), torch.zeros(2, 1), [f"p{i}" for i in range(n)], ["y"]))
            for n in (784, 64, 49, 10, 4096, 4225, 3072, 147, 192)] == [
        (1, 28, 28), (1, 8, 8), None, None, (1, 64, 64), None, (3, 32, 32), None, (3, 8, 8)]
    ds = make_builtin("digits", {"n": 12, "noise": 0.1, "seed": 4})
    fig = image_grid_figure(ds, count=10, per_row=4)
    mosaic = fig.data[0].z
    side, gap, room = 28, 2, 9  # a picture, the space between two, the label room above each
    for i in range(10):
        top, left = (i // 4) * (side + room) + room, (i % 4) * (side + gap)
        assert torch.equal(torch.tensor(mosaic[top:top + side, left:left + side], dtype=torch.float32),
                           ds.features[i].view(28, 28))
    assert [a.text for a in fig.layout.annotations] == [ds.classes[k] for k in ds.targets[:10].argmax(1).tolist()]
    assert image_grid_figure(make_builtin("three_class", {"n": 20})) is None
    assert "`nn.Unflatten(1, (1, 28, 28))`: the Models page's \"Small CNN on pixel rows\" starts with one" in \
        image_caption(ds)


def test_rows_of_three_planes_are_drawn_in_colour_as_unflatten_reads_them() -> None:
    side = 8
    pixels = torch.zeros(3, 3, side, side)  # three pictures: all red, all green, a blue left half
    pixels[0, 0], pixels[1, 1], pixels[2, 2, :, :side // 2] = 200, 200, 200
    pixels[:, :, 0, 0] = 100  # every top-left pixel a little of each colour
    ds = TabularDataset(pixels.view(3, -1), torch.eye(3), [f"p{i}" for i in range(3 * side * side)],
                        ["colour=red", "colour=green", "colour=blue"])
    fig = image_grid_figure(ds, per_row=3)
    z = torch.tensor(fig.data[0].z)  # height × width × (r, g, b, a), 0–255 over the rows' 0–200
    gap, room = 2, side // 3
    assert fig.data[0].type == "image" and "8×8 colour pictures (features[i].view(3, 8, 8))" in fig.layout.title.text
    for i in range(3):
        left = i * (side + gap)
        picture = z[room:room + side, left:left + side]
        expected = (pixels[i].permute(1, 2, 0) * 255 / 200).round().to(torch.uint8)
        assert torch.equal(picture[..., :3], expected) and bool((picture[..., 3] == 1).all())
    assert z[room, side, 3] == 0 and z[0, 0, 3] == 0  # the gap and the label room are see-through
    assert z[room, 0].tolist() == [128, 128, 128, 1]
    assert [a.text for a in fig.layout.annotations] == ["red", "green", "blue"]
    caption = image_caption(ds)
    assert "192 features = 3 × 8 × 8, so each row may be a colour 8×8 picture, stored as the red plane" in caption
    assert "`nn.Unflatten(1, (3, 8, 8))`" in caption and "set its input shape to 192 and switch Auto-fit on" in caption
    assert caption.endswith("Its last Linear gives 10 outputs, one per digit: set its out_features to 3 for this "
                            "data's 3 classes.")


# ---------------------------------------------------------------- the model and its cost


def test_the_pixel_row_cnn_is_the_small_cnn_behind_an_unflatten() -> None:
    rows = torch.rand(3, 784)
    model, plain = build_model(PIXEL_CNN, seed=1), build_model(PRESETS["Small CNN"], seed=1)
    torch.testing.assert_close(model(rows), plain(rows.view(3, 1, 28, 28)))
    assert list(model.state_dict())[:2] == ["conv1.weight", "conv1.bias"]  # Unflatten adds no parameters


def test_the_image_input_cnn_is_refused_with_the_way_to_train_it() -> None:
    data = make_builtin("digits", {"n": 20})
    with pytest.raises(TorchstartError) as err:
        preflight(TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY), data,
                  pixel_cnn(PRESETS["Small CNN"]))
    assert "takes input of shape (1, 28, 28)" in str(err.value)
    assert "start it with an Unflatten layer" in str(err.value) and "Small CNN on pixel rows" in str(err.value)
    preflight(TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY), data, pixel_cnn())


def test_an_epoch_counts_the_convolutions_not_only_the_linear_layer() -> None:
    cnn = pixel_cnn()
    assert forward_profile(cnn.module, 784).macs == check_spec(PIXEL_CNN).total_macs == 290_080
    assert macs_per_row(TrainingConfig(model="session"), 784, 10, cnn) == 290_080
    assert cnn.module.training  # the count ran in eval mode and put the mode back
    wide = ModelSpec("Wide", (784,), (LayerSpec.of("Unflatten"),
                                      LayerSpec.of("Conv2d", in_channels=1, out_channels=256, kernel_size=15,
                                                   padding=7),
                                      LayerSpec.of("MaxPool2d", kernel_size=4, stride=4), LayerSpec.of("Flatten"),
                                      LayerSpec.of("Linear", in_features=256 * 49, out_features=10)))
    per_row = check_spec(wide).total_macs  # 45 M in the Conv2d, 0.1 M in the Linear
    rows = 2 * 10**10 // per_row + 1
    data = TabularDataset(torch.zeros(rows, 784), torch.eye(10)[torch.arange(rows) % 10],
                          [f"pixel{i}" for i in range(784)], [f"digit={d}" for d in range(10)], "wide")
    with pytest.raises(TorchstartError, match="Use a smaller model"):
        preflight(TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, val_share=0.0), data,
                  pixel_cnn(wide))


# ---------------------------------------------------------------- training on pixel rows

CNN_RUN = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, optimizer="Adam", lr=0.003,
                         full_batch=False, batch_size=64, val_share=0.25, log_every=2)


@pytest.fixture(scope="module")
def digits_run():
    """The preset trained 10 epochs on 1,000 Digits rows, as the Training page does it."""
    data = make_builtin("digits", {"n": 1_000, "noise": 0.3, "seed": 0})
    model = pixel_cnn()
    return train(start_run(CNN_RUN, data, model), 10), model


def test_the_cnn_learns_the_digits(digits_run) -> None:
    run, _ = digits_run
    assert run.status == "done" and run.epoch == 10
    scores = evaluate(run)
    assert scores["validation"]["accuracy"] >= 0.8, scores
    assert run.val_losses[-1] < 0.5 * run.val_losses[0]


def test_a_held_out_row_shows_its_label_and_the_models_answer(digits_run) -> None:
    run, _ = digits_run
    which, x, y = held_out_rows(run)
    assert which == "validation" and x.shape == (250, 784)
    run.model.eval()
    with torch.no_grad():
        answers = run.model(x).argmax(1)
    for index in (0, 7):
        table = row_prediction_table(run, index)
        assert list(table.columns[:3]) == ["true digit", "P(0)", "P(1)"] and "pixel0" not in table.columns
        assert list(table.columns[-10:]) == [f"logit {d}" for d in range(10)]  # probabilities read first
        assert table["true digit"].iloc[0] == str(int(y[index].argmax()))
        assert table["predicted digit"].iloc[0] == str(int(answers[index]))


def test_the_script_trains_the_same_cnn(digits_run, tmp_path, monkeypatch, capsys) -> None:
    run, model = digits_run
    script = training_script(run, session_model=model)
    assert "nn.Unflatten(1, (1, 28, 28))" in script and needs_csv(run)
    (tmp_path / CSV_NAME).write_bytes(data_csv(run))  # the page offers it beside the script
    assert_script_matches_page(run, script, tmp_path, monkeypatch, capsys)


# ---------------------------------------------------------------- an MNIST-shaped CSV


def mnist_csv(rows: int = 80, seed: int = 0) -> bytes:
    """Kaggle's digit-recognizer layout: label, pixel0 … pixel783, whole numbers 0–255."""
    images, labels = digit_images(rows, 0.2, seed)
    pixels = (images.view(rows, 784) * 255).round().int()
    lines = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    lines += [f"{d}," + ",".join(map(str, row)) for d, row in zip(labels.tolist(), pixels.tolist())]
    return ("\n".join(lines) + "\n").encode()


def test_an_mnist_csv_loads_as_784_features_and_10_classes_and_trains() -> None:
    table = load_csv(mnist_csv(), "train.csv")
    assert table.frame.shape == (80, 785)
    features = tuple(f"pixel{i}" for i in range(784))
    # Its first column is named label: that is the target, and its whole numbers are classes.
    assert default_choices(table.frame) == PrepChoices(features, "label", class_codes=True)
    ds = prepare(table.frame, PrepChoices(features, "label", DROP, DROP_ROWS, class_codes=True), "train.csv").dataset
    assert ds.n_features == 784 and ds.classes == [str(d) for d in range(10)] and image_shape(ds) == (1, 28, 28)
    assert ds.features.max() == 255
    run = train(start_run(CNN_RUN, ds, pixel_cnn()), 2)
    assert run.status == "done" and len(run.train_losses) == 2 and torch.isfinite(torch.tensor(run.train_losses)).all()


@pytest.mark.parametrize("text, expected", [
    (b"Label,a,b\n0,1,2\n1,3,4\n0,5,6\n1,7,8\n", PrepChoices(("a", "b"), "Label")),  # 0/1: one column, for BCE
    (b"target,a,b\n0.5,1,2\n1.5,3,4\n2.5,5,6\n", PrepChoices(("a", "b"), "target")),  # measurements
    (b"class,a,b\n" + b"".join(b"%d,%d,1\n" % (i % 3, i) for i in range(9)), PrepChoices(("a", "b"), "class",
                                                                                        class_codes=True)),
    (b"a,b,y\n1,2,3\n4,5,6\n7,8,10\n", PrepChoices(("a", "b"), "y")),  # no such name: the last that varies
    (b"class,cap,odor\ne,1,2\np,3,4\ne,5,6\np,7,9\n", PrepChoices(("cap", "odor"), "class")),  # text classes
    (b"label,target,a\n0,1.5,2\n1,2.5,3\n2,3.5,4\n", PrepChoices(("target", "a"), "label")),  # the first named
    # A name per row is no class: the usual rule (the last number column that varies) picks the target.
    (b"label,height,weight\n" + b"".join(b"p%d,%d,%d\n" % (i, 150 + i, 50 + 2 * i) for i in range(8)),
     PrepChoices(("height",), "weight")),
    # Free text in "label" is passed over, and the numeric "target" after it still wins.
    (b"label,target,a\n" + b"".join(b"t%d,%d.5,%d\n" % (i, i, i % 3) for i in range(30)),
     PrepChoices(("a",), "target")),
])
def test_a_column_named_label_class_or_target_is_the_default_target(text: bytes, expected: PrepChoices) -> None:
    assert default_choices(load_csv(text, "named.csv").frame) == expected


# ---------------------------------------------------------------- the pages, in AppTest


def predict_picked_row(at, model: nn.Module, index: int):
    """Checkpoints: pick the Data page's row ``index``; the table's true and predicted digit must be the row's
    label and ``model``'s answer. Returns the table and the model's logits for that row."""
    at.number_input(key="checkpoints.row").set_value(index).run()
    table = at.dataframe[-1].value
    digits = at.session_state[session.DATASET]
    with torch.no_grad():
        logits = model.eval()(digits.features[index:index + 1])[0]
    assert table["true digit"].iloc[0] == str(int(digits.targets[index].argmax()))
    assert table["predicted digit"].iloc[0] == str(int(logits.argmax()))
    return table, logits


def test_digits_to_the_cnn_to_a_prediction_through_the_pages(open_page) -> None:
    at = open_page("pages/data.py", timeout=60)
    at.selectbox(key="data.builtin").set_value("digits").run()
    assert not at.exception
    pictures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(p["layout"]["title"]["text"].startswith("Rows 0–31 drawn as 28×28 pictures") for p in pictures)
    at.switch_page("pages/models.py").run()
    at.selectbox(key="models.preset").set_value("Small CNN on pixel rows").run()
    assert not at.exception and at.session_state[session.MODEL].in_features == 784
    at.switch_page("pages/training.py").run()
    for name, value in (("data", "session"), ("model", "session"), ("loss", CROSS_ENTROPY), ("optimizer", "Adam")):
        at.selectbox(key=f"training_{name}").set_value(value).run()
    at.number_input(key="training_lr").set_value(0.003).run()
    at.checkbox(key="training_full_batch").uncheck().run()
    at.number_input(key="training_batch_size").set_value(64).run()
    at.number_input(key="training_epochs").set_value(3).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run = at.session_state["training_run"]
    assert run.epoch == 3 and run.status == "done"
    row = at.number_input(key="training_predict_row_validation")
    assert row.max == len(run.data.raw_x_val) - 1
    row.set_value(5).run()
    source_row = int(run.data.val_index[5])
    assert any(f"Validation row 5 is row {source_row:,} of the Data page's dataset" in c.value for c in at.caption)
    assert torch.equal(at.session_state[session.DATASET].features[source_row], run.data.raw_x_val[5])
    picture = json.loads(at.get("plotly_chart")[-1].proto.spec)  # after the loss and the confusion matrix
    assert len(at.get("plotly_chart")) == 3
    assert picture["data"][0]["type"] == "heatmap" and picture["data"][0]["z"]["shape"] == "37, 28"  # 9 for the label
    shown = at.dataframe[-1].value
    assert shown["predicted digit"].iloc[0] == row_prediction_table(run, 5)["predicted digit"].iloc[0]
    assert shown["true digit"].iloc[0] == str(int(run.data.raw_y_val[5].argmax()))
    assert "nn.Unflatten(1, (1, 28, 28))" in at.code[-1].value

    # Checkpoints: the trained CNN's file loads strictly, and a row of the Data page's Digits is predicted.
    at.switch_page("pages/checkpoints.py").run()
    name, data = at.session_state["checkpoints.saved"]
    at.file_uploader(key="checkpoints.upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception and at.radio(key="checkpoints.target").value == "trained"
    assert not [t for t in at.text_input if t.key == "checkpoints.inputs"]  # no box of 784 numbers
    table, logits = predict_picked_row(at, run.model, 11)
    assert [table[f"logit {d}"].iloc[0] for d in range(10)] == pytest.approx(logits.tolist(), abs=1e-5)
    assert "pixel0" not in table.columns
    specs = [json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")]
    assert any(d["type"] == "heatmap" and d["z"]["shape"] == "37, 28" for d in specs)  # row 11's picture


# ---------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_a_learner_trains_the_cnn_on_digits_and_downloads_it(page, tmp_path) -> None:
    open_app(page, "data")
    choose(page, "Dataset", "Digits (28×28 images)")
    expect(page.get_by_text("Rows 0–31 drawn as 28×28 pictures")).to_be_visible()
    go(page, "Models")
    choose(page, "Start from a preset", "Small CNN on pixel rows")
    go(page, "Training")
    choose(page, "Data", "Dataset from the Data page")
    page.get_by_role("tab", name="Model").click()
    choose(page, "Model", "Model from the Models page")
    page.get_by_role("tab", name="Loss & optimizer").click()
    choose(page, "Loss", CROSS_ENTROPY)
    choose(page, "Optimizer", "Adam")
    fill(page, "Learning rate", "0.003")
    page.get_by_role("tab", name="Epochs, batches, seed").click()
    fill(page, "Epochs", "4")
    rerun_after(page, page.get_by_text("Full batch", exact=True).click)
    fill(page, "Batch size", "64")
    rerun_after(page, page.get_by_test_id("stMain").get_by_role("button", name="Train").click)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Epoch 4 / 4")
    text = main_text(page)
    assert "Epoch 4 / 4" in text and "Confusion matrix (validation rows)" in text, text[-2000:]
    assert "Predict for validation row (0 to 199" in text
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download model (.pth)").click()
    info.value.save_as(tmp_path / "model.pth")
    model = build_model(PIXEL_CNN)
    model.load_state_dict(torch.load(tmp_path / "model.pth", weights_only=True))  # strict: every key fits
    config = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, val_share=0.2)
    split = prepare_data(config, make_builtin("digits"))  # the page's seeded split (seed 42)
    with torch.no_grad():
        logits = model.eval()(split.raw_x_val[3:4])[0]
    label = int(split.raw_y_val[3].argmax())
    fill(page, "Predict for validation row (0 to 199: rows the model never trained on)", "3")
    # The answer is pinned first, then the label and the probabilities (the grid lists the columns in view).
    # Row 0's table may share both digits with row 3's: poll until the probabilities are row 3's too.
    probabilities = pytest.approx(torch.softmax(logits, 0)[:5].tolist(), abs=1e-4)
    table_numbers(page, "true digit", "predicted digit", "P(0)", starts_with=[float(logits.argmax()), float(label)],
                  until=lambda shown: shown[2:7] == probabilities)


def test_a_wide_file_without_a_matching_dataset_keeps_the_typed_box_and_says_how_to_pick_rows(open_page) -> None:
    model = nn.Linear(30, 1)
    trained = session.TrainedModel(model, [f"x{i}" for i in range(30)], ["y"], "wide")
    at = open_page()
    at.session_state[session.TRAINED] = trained
    at.session_state[session.DATASET] = make_builtin("digits", {"n": 20})  # 784 features: not this model's 30
    at.switch_page("pages/checkpoints.py").run()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    at.file_uploader(key="checkpoints.upload").set_value(("wide.pth", buffer.getvalue(), "application/octet-stream"))
    at.run()
    assert not at.exception
    assert any("Put a dataset with 30 features on the Data page" in c.value for c in at.caption)
    at.text_input(key="checkpoints.inputs").set_value(str([[1.0] * 30])).run()
    with torch.no_grad():
        expected = model(torch.ones(1, 30)).item()
    assert at.dataframe[-1].value["predicted y"].iloc[0] == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- memory: evaluation in chunks, steps capped

WIDE_CNN = ModelSpec("WideCNN", (784,), (LayerSpec.of("Unflatten"),
                                         LayerSpec.of("Conv2d", in_channels=1, out_channels=64, kernel_size=3,
                                                      padding=1),
                                         LayerSpec.of("ReLU"), LayerSpec.of("MaxPool2d", kernel_size=4, stride=4),
                                         LayerSpec.of("Flatten"),
                                         LayerSpec.of("Linear", in_features=64 * 49, out_features=10)))


def test_a_full_batch_step_that_would_keep_gigabytes_of_layer_outputs_is_refused() -> None:
    data = make_builtin("digits", {"n": 4_000})
    model = pixel_cnn(WIDE_CNN)
    profile = forward_profile(model.module, 784)
    assert profile.values == 784 + 2 * 64 * 784 + 64 * 49 + 64 * 49 + 10  # every leaf layer's output, one row
    full = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, val_share=0.2)
    with pytest.raises(TorchstartError) as err:
        preflight(full, data, model)
    assert "With full batch, one optimizer step pushes 3,200 rows through the model" in str(err.value)
    assert f"at most {MAX_STEP_BYTES // profile.bytes:,} rows" in str(err.value)
    preflight(replace(full, full_batch=False, batch_size=256), data, model)


def test_big_splits_are_evaluated_in_chunks_with_the_same_numbers_and_kept_until_the_weights_change() -> None:
    data = make_builtin("digits", {"n": 300, "seed": 1})
    run = train(start_run(replace(CNN_RUN, val_share=0.5), data, pixel_cnn()), 1)
    assert run.eval_rows == EVAL_BYTES // forward_profile(run.model, 784).bytes  # about 2,950 rows
    whole = predict(run, run.data.raw_x_val)
    calls = []
    handle = run.model.conv1.register_forward_hook(lambda layer, i, out: calls.append(len(out)))
    assert predict(run, run.data.raw_x_val) is whole and calls == []  # a page rerun: nothing recomputed
    run.eval_rows = 40
    run.outputs.clear()
    torch.testing.assert_close(predict(run, run.data.raw_x_val), whole, rtol=1e-5, atol=1e-6)
    assert calls == [40, 40, 40, 30]
    train(run, 1)
    assert calls[4:] == [64, 64, 22, 40, 40, 40, 30]  # three mini-batches, then the validation loss in chunks
    predict(run, run.data.raw_x_val)
    assert calls[11:] == [40, 40, 40, 30]  # new weights: the kept outputs were dropped
    handle.remove()


def test_the_script_evaluates_in_the_same_chunks(tmp_path, monkeypatch, capsys) -> None:
    data = make_builtin("digits", {"n": 300, "seed": 2})
    model = pixel_cnn()
    run = start_run(replace(CNN_RUN, val_share=0.5), data, model)
    run.eval_rows = 64
    train(run, 3)
    script = training_script(run, session_model=model)
    assert "def forward_in_chunks(x, rows=64):" in script
    assert "val_loss = criterion(forward_in_chunks(x_val), y_val).item()" in script
    (tmp_path / CSV_NAME).write_bytes(data_csv(run))
    assert_script_matches_page(run, script, tmp_path, monkeypatch, capsys)


def test_batch_norm_on_pictures_takes_one_row_batches_but_on_features_does_not() -> None:
    data = make_builtin("digits", {"n": 40})
    norms = {"BatchNorm2d": LayerSpec.of("BatchNorm2d", num_features=8),
             "BatchNorm1d": LayerSpec.of("BatchNorm1d", num_features=8)}
    one_row = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, full_batch=False, batch_size=1)
    pictures = ModelSpec("Pictures", (784,), (*PIXEL_CNN.layers[:2], norms["BatchNorm2d"], *PIXEL_CNN.layers[2:]))
    preflight(one_row, data, pixel_cnn(pictures))  # 28 × 28 values per channel even in a one-row batch
    features = ModelSpec("Features", (784,), (LayerSpec.of("Linear", in_features=784, out_features=8),
                                              norms["BatchNorm1d"], LayerSpec.of("Linear", in_features=8,
                                                                                 out_features=10)))
    with pytest.raises(TorchstartError, match=r"bn \(BatchNorm1d\) normalises each channel"):
        preflight(one_row, data, pixel_cnn(features))


def test_pixels_of_0_to_255_get_a_note_that_scaling_them_trains_far_better() -> None:
    table = load_csv(mnist_csv(400, seed=1), "train.csv")
    raw = prepare(table.frame, default_choices(table.frame), "train.csv").dataset
    note = pixel_scale_note(raw)
    assert note is not None and "These pixels run from 0 to 255" in note and "divide by 255" in note
    assert pixel_scale_note(make_builtin("digits", {"n": 50})) is None  # already 0–1
    assert pixel_scale_note(make_builtin("three_class", {"n": 50})) is None  # no pictures
    scores = {}
    for standardize in (False, True):
        run = train(start_run(replace(CNN_RUN, standardize_x=standardize), raw, pixel_cnn()), 5)
        scores[standardize] = evaluate(run)["validation"]["accuracy"]
    assert scores[True] > scores[False] + 0.2, scores  # what the note claims, on a smaller set


def test_the_mnist_csv_show_code_rebuilds_the_tensors_and_prints_a_short_first_row(tmp_path, monkeypatch) -> None:
    data = mnist_csv(60, seed=3)
    table = load_csv(data, "train.csv")
    choices = default_choices(table.frame)
    result = prepare(table.frame, choices, "train.csv")
    code = csv_code("train.csv", table.format, choices, result.numeric_features, result.text_features,
                    result.classes, rows_in=len(table.frame), class_codes=result.classes_from_numbers)
    assert "classes = list(y.columns)  # [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]: y.argmax(1)" in code
    assert "print(len(dataset), x0.shape, x0[:10], y0)" in code
    (tmp_path / "train.csv").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "data.py", "exec"), namespace)  # our generated code, not learner text
    assert namespace["classes"] == list(range(10))
    assert torch.equal(namespace["dataset"].features, result.dataset.features)
    assert torch.equal(namespace["dataset"].targets, result.dataset.targets)


def test_a_models_page_cnn_reads_its_outputs_as_the_digits_logits_in_a_new_session(open_page, digits_run) -> None:
    trained, _ = digits_run
    buffer = io.BytesIO()
    torch.save(trained.model.state_dict(), buffer)  # the Training page's download, in a session that has no run
    at = open_page()
    at.session_state[session.MODEL] = pixel_cnn()
    at.session_state[session.DATASET] = make_builtin("digits", {"n": 30, "seed": 9})
    at.switch_page("pages/checkpoints.py").run()
    at.file_uploader(key="checkpoints.upload").set_value(("cnn.pth", buffer.getvalue(), "application/octet-stream"))
    at.run()
    assert not at.exception and at.radio(key="checkpoints.target").value == "models"
    table, logits = predict_picked_row(at, trained.model, 4)
    assert any("so the outputs are read as class logits" in c.value for c in at.caption)
    assert table["P(9)"].iloc[0] == pytest.approx(torch.softmax(logits, 0)[9].item(), rel=1e-5)
    assert "torch.softmax(y, dim=1)" in at.code[-1].value


def test_big_data_goes_to_the_script_as_a_torch_save_file(tmp_path, monkeypatch, capsys) -> None:
    data = make_builtin("digits", {"n": 2_600, "seed": 5})  # 2,600 × 794 numbers: past the CSV limit
    model = pixel_cnn()
    run = train(start_run(replace(CNN_RUN, batch_size=256), data, model), 1)
    assert data_file_name(run) == PT_NAME and CSV_VALUES_LIMIT < data.features.numel()
    script = training_script(run, session_model=model)
    assert 'data = torch.load(\'training_data.pt\', weights_only=True)' in script and "import csv" not in script
    (tmp_path / PT_NAME).write_bytes(data_file(run))
    saved = torch.load(tmp_path / PT_NAME, weights_only=True)
    assert torch.equal(saved["x"], data.features) and saved["targets"] == data.target_names
    assert_script_matches_page(run, script, tmp_path, monkeypatch, capsys)


def test_a_step_too_big_in_mini_batches_asks_for_smaller_batches() -> None:
    data = make_builtin("digits", {"n": 4_000})
    config = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, val_share=0.2, full_batch=False,
                            batch_size=3_200)
    with pytest.raises(TorchstartError) as err:
        preflight(config, data, pixel_cnn(WIDE_CNN))
    fits = MAX_STEP_BYTES // forward_profile(pixel_cnn(WIDE_CNN).module, 784).bytes
    assert "With batches of 3,200, one optimizer step pushes 3,200 rows" in str(err.value)
    assert f"Use batches of at most {fits:,} rows (tab Epochs, batches, seed)." in str(err.value)
    assert "Untick Full batch" not in str(err.value)


def test_a_trained_regression_model_is_never_read_as_class_logits(open_page) -> None:
    data = make_builtin("digits", {"n": 200})
    run = train(start_run(TrainingConfig(data="session", model="linear", loss="MSE", val_share=0.2), data), 3)
    at = open_page()
    at.session_state[session.TRAINED] = trained_model(run)  # the Training page knows it fitted numbers
    at.session_state[session.DATASET] = data
    at.switch_page("pages/checkpoints.py").run()
    name, saved = at.session_state["checkpoints.saved"]
    at.file_uploader(key="checkpoints.upload").set_value((name, saved, "application/octet-stream")).run()
    assert at.radio(key="checkpoints.target").value == "trained"
    at.number_input(key="checkpoints.row").set_value(2).run()
    table = at.dataframe[-1].value
    assert not any("read as class logits" in c.value for c in at.caption)
    assert "predicted digit=0" in table.columns and not any(str(c).startswith("logit") for c in table.columns)
    with torch.no_grad():
        expected = run.model.eval()(data.features[2:3])[0, 0].item()
    assert table["predicted digit=0"].iloc[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.gpu
def test_the_pixel_row_cnn_on_cuda_matches_the_cpu_run_with_chunked_evaluation(tmp_path, monkeypatch, capsys) -> None:
    data = make_builtin("digits", {"n": 400, "seed": 6})
    config = replace(CNN_RUN, val_share=0.5)
    runs = {}
    for device in ("cpu", "cuda:0"):
        run = start_run(replace(config, device=device), data, pixel_cnn())
        run.eval_rows = 64  # the 200 validation rows go through in chunks, on the GPU too
        runs[device] = train(run, 3)
    cpu, gpu = runs["cpu"], runs["cuda:0"]
    assert gpu.status == "done" and gpu.device.type == "cuda"
    assert gpu.train_losses == pytest.approx(cpu.train_losses, rel=1e-3)
    assert gpu.val_losses == pytest.approx(cpu.val_losses, rel=1e-3)
    torch.testing.assert_close(predict(gpu, gpu.data.raw_x_val), predict(cpu, cpu.data.raw_x_val), rtol=1e-3,
                               atol=1e-3)
    script = training_script(gpu, session_model=pixel_cnn())
    assert "forward_in_chunks" in script and "model = model.to(device)" in script
    (tmp_path / CSV_NAME).write_bytes(data_csv(gpu))
    out = run_shown_script(script, tmp_path, monkeypatch, capsys)
    assert float(re.search(r"Final validation loss: (\S+)", out).group(1)) == pytest.approx(gpu.val_losses[-1],
                                                                                           rel=1e-4)


def colour_csv_dataset(rows: int = 40) -> TabularDataset:
    """A CIFAR-shaped CSV of random 3×32×32 pictures in four classes, read as the Data page reads it."""
    gen = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (rows, 3072), generator=gen)
    lines = ["label," + ",".join(f"pixel{i}" for i in range(3072))]
    lines += [f"{i % 4}," + ",".join(map(str, row)) for i, row in enumerate(pixels.tolist())]
    table = load_csv(("\n".join(lines) + "\n").encode(), "cifar.csv")
    assert table.frame.shape == (rows, 3073)
    return prepare(table.frame, default_choices(table.frame), "cifar.csv").dataset


def test_a_csv_of_32x32_colour_pictures_trains_a_cnn_that_unflattens_three_channels() -> None:
    ds = colour_csv_dataset()
    assert ds.n_features == 3072 and ds.classes == ["0", "1", "2", "3"]
    colour = ModelSpec("ColourCNN", (3072,), (LayerSpec.of("Unflatten", channels=3, height=32, width=32),
                                              LayerSpec.of("Conv2d", in_channels=3, out_channels=4, kernel_size=3),
                                              LayerSpec.of("MaxPool2d", kernel_size=6, stride=6),
                                              LayerSpec.of("Flatten"),
                                              LayerSpec.of("Linear", in_features=4 * 25, out_features=4)))
    run = train(start_run(replace(CNN_RUN, standardize_x=True), ds, pixel_cnn(colour)), 2)
    assert run.status == "done" and len(run.val_losses) == 2


def test_the_training_page_says_which_loss_classes_want_and_why_a_short_run_logs_nothing(open_page) -> None:
    at = open_page("pages/training.py")
    at.session_state[session.DATASET] = make_builtin("digits", {"n": 100})
    at.session_state[session.MODEL] = pixel_cnn()
    at.selectbox(key="training_data").set_value("session").run()
    hint = "MSE would fit the 0s and 1s as plain numbers. Pick **CrossEntropy (classes)** on the tab Loss"
    assert any(hint in i.value for i in at.info)
    at.button(key="training_use_suggested_loss").click().run()  # the hint's one-click switch
    assert at.selectbox(key="training_loss").value == CROSS_ENTROPY
    assert not any("Pick **CrossEntropy" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "training_use_suggested_loss"]
    at.selectbox(key="training_model").set_value("session").run()
    at.number_input(key="training_epochs").set_value(3).run()  # Log every stays 10
    at.button(key="training_train").click().run()
    assert not at.exception and at.session_state["training_run"].epoch == 3
    assert any("the log prints every 10 epochs and this run has 3; set Log every to 3 or less" in c.value
               for c in at.code)


def test_colour_rows_through_the_pages_auto_fit_the_preset_and_predict_beside_their_picture(open_page) -> None:
    at = open_page("pages/data.py", timeout=60)
    at.session_state[session.DATASET] = colour_csv_dataset(60)
    at.run()
    picture = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                   if "colour pictures" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert picture["data"][0]["type"] == "image"
    assert any("so each row may be a colour 32×32 picture" in c.value for c in at.caption)
    at.switch_page("pages/models.py").run()
    at.selectbox(key="models.preset").set_value("Small CNN on pixel rows").run()
    at.text_input(key="models.input_shape").set_value("3072")
    at.toggle(key="models.auto_fit").set_value(True).run()
    last = at.session_state["models.stack"][-1]["id"]
    at.number_input(key=f"models.layer.{last}.out_features").set_value(4).run()
    handed = at.session_state[session.MODEL]
    assert not at.error and (handed.in_features, handed.out_features) == (3072, 4)
    at.switch_page("pages/training.py").run()
    for name, value in (("data", "session"), ("model", "session"), ("loss", CROSS_ENTROPY)):
        at.selectbox(key=f"training_{name}").set_value(value).run()
    at.number_input(key="training_epochs").set_value(2).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["training_run"].model.unflatten.unflattened_size == (3, 32, 32)
    row = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert row["data"][0]["type"] == "image"
    # Checkpoints: 3,072 numbers are past the typing cap (2,000), yet a Data-page row of that width is picked.
    run = at.session_state["training_run"]
    at.switch_page("pages/checkpoints.py").run()
    name, data = at.session_state["checkpoints.saved"]
    at.file_uploader(key="checkpoints.upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception and not any("too many to type" in i.value for i in at.info)
    at.number_input(key="checkpoints.row").set_value(7).run()
    colour = at.session_state[session.DATASET]
    with torch.no_grad():
        logits = run.model.eval()(colour.features[7:8])[0]
    table = at.dataframe[-1].value
    assert table["predicted label"].iloc[0] == str(int(logits.argmax()))
    assert table["true label"].iloc[0] == str(int(colour.targets[7].argmax()))

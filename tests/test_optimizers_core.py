"""Optimizers page core: landscapes, the race against plain torch.optim loops, generated code, figures."""

from __future__ import annotations

import base64
import contextlib
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from torchstart.builtin_datasets import make_builtin
from torchstart.csv_loading import load_csv
from torchstart.data_code import builtin_code, csv_code
from torchstart.data_prep import default_choices, prepare
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.figure_style import log_ticks
from torchstart.landscape_image import landscape_image
from torchstart.landscapes import (BEALE, ILL_CONDITIONED, MAX_LANDSCAPE_ROWS, ROSENBROCK, SADDLE,
                                   available_landscapes,
                                   classic_landscape, dataset_landscape, dataset_problem)
from torchstart.optimizer_code import race_code
from torchstart.optimizer_figures import MAX_DRAWN_POINTS, MAX_FRAMES, landscape_figure, loss_figure
from torchstart.optimizer_race import (ARRIVED_COLUMN, MAX_STEPS, RaceResult, RunSpec, arrival_text, race,
                                       race_summary, run_optimizer, step_table)
from torchstart.optimizers import OPTIMIZERS, optimizer_code
from tests.plotly_json import plotly_array


def line_dataset(n: int = 30, features: int = 1, seed: int = 0) -> TabularDataset:
    """A small noisy linear dataset like the Data page makes."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, features, generator=gen) * 4 - 1
    y = x.sum(1, keepdim=True) * 1.5 - 0.7 + 0.3 * torch.randn(n, 1, generator=gen)
    return TabularDataset(x, y, [f"x{i}" for i in range(features)], ["y"], "noisy line")


# Non-default settings, so a setting that is dropped on the way to torch shows up as a different path.
PLAIN = {
    "SGD": (torch.optim.SGD, {}, {}),
    "SGD + momentum": (torch.optim.SGD, {"momentum": 0.7}, {"momentum": 0.7}),
    "Nesterov": (torch.optim.SGD, {"momentum": 0.6}, {"momentum": 0.6, "nesterov": True}),
    "Adam": (torch.optim.Adam, {"beta1": 0.8, "beta2": 0.99}, {"betas": (0.8, 0.99)}),
    "AdamW": (torch.optim.AdamW, {"beta1": 0.85, "beta2": 0.995, "weight_decay": 0.1},
              {"betas": (0.85, 0.995), "weight_decay": 0.1}),
    "RMSprop": (torch.optim.RMSprop, {"alpha": 0.9}, {"alpha": 0.9}),
    "Adagrad": (torch.optim.Adagrad, {}, {}),
}


def plain_loop(fn, start, cls, lr, kwargs, steps):
    """The textbook loop, written out here independently of torchstart."""
    p = torch.tensor(start, requires_grad=True)
    opt = cls([p], lr=lr, **kwargs)
    points, states = [p.detach().clone()], [{}]
    for _ in range(steps):
        opt.zero_grad()
        loss = fn(p[0], p[1])
        loss.backward()
        opt.step()
        points.append(p.detach().clone())
        states.append({k: v.clone() for k, v in opt.state[p].items()})
    return torch.stack(points), states


# ------------------------------------------------------------ landscapes

LANDSCAPES = [classic_landscape(), dataset_landscape(line_dataset()), ROSENBROCK, BEALE, SADDLE, ILL_CONDITIONED]


@pytest.mark.parametrize("land", LANDSCAPES, ids=lambda l: l.key)
def test_known_minimum_is_a_minimum(land) -> None:
    m = torch.tensor(land.minimum, dtype=torch.float32, requires_grad=True)
    value = land.loss(m)
    value.backward()
    assert value.item() == pytest.approx(land.min_value, abs=1e-5)
    assert m.grad.abs().max().item() < 1e-3
    # Every point on a grid around it is at least as high (float32 rounding allowed).
    around = torch.linspace(-0.05, 0.05, 11)
    aa, bb = torch.meshgrid(around + land.minimum[0], around + land.minimum[1], indexing="ij")
    with torch.no_grad():
        assert (land.fn(aa, bb) >= value.item() - 1e-5).all()
        assert (land.fn(aa, bb).max() > value.item() + 1e-6)  # and it really rises around it


def test_functions_match_their_textbook_values() -> None:
    t = torch.tensor
    assert ROSENBROCK.fn(t(0.0), t(0.0)).item() == 1.0
    assert ROSENBROCK.fn(t(-1.0), t(2.0)).item() == 4 + 100
    assert BEALE.fn(t(0.0), t(0.0)).item() == pytest.approx(1.5 ** 2 + 2.25 ** 2 + 2.625 ** 2)
    assert ILL_CONDITIONED.fn(t(1.0), t(1.0)).item() == 13.0
    # The saddle: flat at (0, 0), up along x, down along y.
    p = torch.zeros(2, requires_grad=True)
    SADDLE.loss(p).backward()
    assert p.grad.abs().max() == 0
    assert SADDLE.fn(t(0.1), t(0.0)) > 0 > SADDLE.fn(t(0.0), t(0.1))


def test_saddle_note_states_the_gradient_at_its_start() -> None:
    p = torch.tensor(SADDLE.start, requires_grad=True)
    SADDLE.loss(p).backward()
    gx, gy = p.grad.tolist()
    # Only the y-component is tiny: x has a steep slope to slide down first.
    assert gx == pytest.approx(-4.0) and gy == pytest.approx(-0.001, rel=1e-3)
    assert f"({gx:g}, {gy:.1g})".replace("-", "−") in SADDLE.note
    assert "the gradient there is tiny" not in SADDLE.note
    path = run_optimizer(SADDLE, SADDLE.start, RunSpec("SGD", SADDLE.lr_for("SGD", 0.01), {}), 300)
    near_saddle = (path.points.abs() < 0.05).all(dim=1)
    assert int(near_saddle.sum()) >= 20 and path.points[-1].tolist() == pytest.approx([0.0, 1.0], abs=1e-3)


def test_mse_landscape_is_torch_mse_and_minimum_is_least_squares() -> None:
    ds = line_dataset()
    land = dataset_landscape(ds)
    x, y = ds.features[:, 0], ds.targets[:, 0]
    for w, b in [(0.3, -1.0), (2.0, 0.5)]:
        expected = torch.nn.functional.mse_loss(w * x + b, y)
        assert land.fn(torch.tensor(w), torch.tensor(b)).item() == pytest.approx(expected.item(), rel=1e-6)
    design = torch.stack([x, torch.ones_like(x)], 1).double()
    solution = torch.linalg.lstsq(design, y.double()[:, None]).solution[:, 0]
    assert land.minimum == pytest.approx(solution.tolist(), abs=1e-6)
    classic = classic_landscape()
    assert classic.minimum == pytest.approx((2.0, 0.0), abs=1e-6) and classic.min_value == 0.0


@pytest.mark.parametrize("land", [ROSENBROCK, classic_landscape(), dataset_landscape(line_dataset(300))],
                         ids=lambda l: l.key)
def test_grid_is_the_function_at_each_point(land) -> None:
    a, b, z = land.grid(7)
    assert z.shape == (7, 7)
    direct = torch.stack([torch.stack([land.fn(a[j], b[i]) for j in range(7)]) for i in range(7)])
    torch.testing.assert_close(z, direct, rtol=1e-5, atol=1e-5)


def test_big_dataset_is_raced_on_a_seeded_subset() -> None:
    big = line_dataset(n=MAX_LANDSCAPE_ROWS + 50)
    land = dataset_landscape(big)
    keep = torch.randperm(len(big), generator=torch.Generator().manual_seed(0))[:MAX_LANDSCAPE_ROWS]
    x, y = big.features[keep, 0], big.targets[keep, 0]
    w, b = torch.tensor(0.4), torch.tensor(-0.3)
    assert land.fn(w, b).item() == pytest.approx(torch.nn.functional.mse_loss(w * x + b, y).item(), rel=1e-5)
    assert f"{MAX_LANDSCAPE_ROWS:,} of its" in land.note


def test_a_big_builtin_dataset_is_built_by_the_snippet_itself() -> None:
    values = {"n": 500, "seed": 1}  # past the 200 rows the snippet prints as literals
    land = dataset_landscape(make_builtin("line", values), builtin_code("line", values))
    spec = RunSpec("SGD", 0.01)
    path = run_optimizer(land, land.start, spec, 50)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(race_code(land, land.start, spec, 50), namespace)  # our own generated code, never user text
    torch.testing.assert_close(namespace["path"], path.points, rtol=0, atol=0)


def test_a_csv_past_the_landscape_cap_is_read_and_subsampled_by_the_snippet(tmp_path, monkeypatch) -> None:
    rows = MAX_LANDSCAPE_ROWS + 50
    x = torch.linspace(-3, 3, rows)
    text = "x,y\n" + "".join(f"{a:.4f},{2 * a + 1 + (i % 7) * 0.1:.4f}\n" for i, a in enumerate(x.tolist()))
    (tmp_path / "big.csv").write_text(text)
    table = load_csv(text.encode(), "big.csv")
    choices = default_choices(table.frame)
    prep = prepare(table.frame, choices, "big.csv")
    code = csv_code("big.csv", table.format, choices, prep.numeric_features, prep.text_features, prep.classes)
    land = dataset_landscape(prep.dataset, code)
    spec = RunSpec("Adam", 0.05)
    path = run_optimizer(land, land.start, spec, 40)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(race_code(land, land.start, spec, 40), namespace)  # our own generated code, never user text
    assert len(namespace["x"]) == MAX_LANDSCAPE_ROWS and len(namespace["dataset"]) == rows
    torch.testing.assert_close(namespace["path"], path.points, rtol=0, atol=0)


def test_dataset_offered_only_with_one_feature_and_one_target() -> None:
    assert "No dataset" in dataset_problem(None)
    two = line_dataset(features=2)
    assert "2 feature" in dataset_problem(two)
    assert all(not l.key.startswith("data:") for l in available_landscapes(two))
    flat = TabularDataset(torch.ones(5, 1), torch.arange(5.0)[:, None], ["x"], ["y"], "flat")
    assert "equal" in dataset_problem(flat)
    steep = torch.linspace(0, 1, 20)[:, None]
    assert "outside this page's ±1,000" in dataset_problem(TabularDataset(steep, 3000 * steep, ["x"], ["y"], "s"))
    # Unscaled x: suggested learning rates stay within the caps the widgets enforce.
    wide_x = torch.linspace(1000, 2000, 20)[:, None]
    unscaled = dataset_landscape(TabularDataset(wide_x, 3 * wide_x + 5, ["x"], ["y"], "unscaled"))
    assert all(1e-6 <= lr <= 10 for lr in unscaled.suggested_lr.values())
    assert "standardizing" in unscaled.note
    one = line_dataset()
    assert dataset_problem(one) is None
    assert [l.key for l in available_landscapes(one)][:2] == ["classic", dataset_landscape(one).key]
    # Same name and size, other numbers: another landscape (so nothing cached for the old one is reused).
    assert dataset_landscape(line_dataset(seed=1)).key != dataset_landscape(one).key


# ------------------------------------------------------------ the race vs plain torch.optim

@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_path_equals_plain_torch_optim_loop(name) -> None:
    cls, tuned, kwargs = PLAIN[name]
    lr = ROSENBROCK.lr_for(name, 0.01)
    start = (-1.2, 1.4)
    path = run_optimizer(ROSENBROCK, start, RunSpec(name, lr, tuned), 60)
    points, states = plain_loop(ROSENBROCK.fn, start, cls, lr, kwargs, 60)
    assert path.diverged_at is None
    assert torch.equal(path.points, points)
    assert path.losses[0].item() == ROSENBROCK.fn(torch.tensor(-1.2), torch.tensor(1.4)).item()
    # The recorded state after step 60 is the plain optimizer's state after step 60.
    for key, value in states[-1].items():
        if key != "step":
            assert path.states[-1][f"{key}[x]"] == value[0].item()
            assert path.states[-1][f"{key}[y]"] == value[1].item()


def test_gradients_are_autograd_gradients_at_each_point() -> None:
    path = run_optimizer(BEALE, (1.0, 1.5), RunSpec("Adam", 0.05, {}), 20)
    for k in (0, 7, 20):
        p = path.points[k].clone().requires_grad_(True)
        BEALE.loss(p).backward()
        assert torch.equal(path.grads[k], p.grad)


def test_race_runs_every_optimizer_from_the_same_start() -> None:
    land = classic_landscape()
    specs = [RunSpec(n, land.lr_for(n, c.default_lr), dict(c.tunable)) for n, c in OPTIMIZERS.items()]
    seen = []
    result = race(land, land.start, specs, 50, on_progress=lambda done, total: seen.append((done, total)))
    assert [p.spec.optimizer for p in result.paths] == list(OPTIMIZERS)
    assert all(torch.equal(p.points[0], torch.tensor(land.start)) for p in result.paths)
    assert seen[-1] == (50 * len(specs), 50 * len(specs))
    # Every optimizer, at its suggested lr, gets closer to the minimum than it started.
    start_loss = result.paths[0].losses[0]
    assert all(p.losses[-1] < start_loss for p in result.paths)


def test_divergence_stops_the_path_with_a_note() -> None:
    path = run_optimizer(ROSENBROCK, (-1.5, 2.5), RunSpec("SGD", 0.05, {}), 500)
    assert path.diverged_at is not None and path.diverged_at < 500
    assert path.note
    assert torch.isfinite(path.finite_points).all()
    # Up to the divergence the path is exactly what plain torch does.
    points, _ = plain_loop(ROSENBROCK.fn, (-1.5, 2.5), torch.optim.SGD, 0.05, {}, path.steps_taken)
    torch.testing.assert_close(path.points, points, rtol=0, atol=0, equal_nan=True)
    stop = path.points[-1]
    assert (not torch.isfinite(stop).all()) or stop.abs().max() > 1e6 or not math.isfinite(path.losses[-1])


BAD_RACES = [
    (dict(steps=MAX_STEPS + 1), "capped at 5,000"),
    (dict(steps=0), "at least 1"),
    (dict(lr=11.0), "between"),
    (dict(lr=0.0), "between"),
    (dict(lr=float("nan")), "finite"),
    (dict(settings={"momentum": 1.0}, name="SGD + momentum"), "Momentum"),
    (dict(settings={"beta2": 1.0}, name="Adam"), "beta2"),
    (dict(settings={"momentum": 0.0}, name="Nesterov"), "above 0"),
    (dict(settings={"weight_decay": 1.5}, name="AdamW"), "Weight decay must be between 0 and 1"),
    (dict(start=(5000.0, 0.0)), "Start x must be between -1000 and 1000"),
    (dict(specs=[]), "at least one"),
]


@pytest.mark.parametrize("change,message", BAD_RACES, ids=[m for _, m in BAD_RACES])
def test_bad_settings_are_refused_with_a_message(change, message) -> None:
    spec = RunSpec(change.get("name", "SGD"), change.get("lr", 0.01), change.get("settings", {}))
    specs = change.get("specs", [spec])
    with pytest.raises(TorchstartError, match=message):
        race(ROSENBROCK, change.get("start", (0.0, 0.0)), specs, change.get("steps", 10))


def test_step_table_shows_optimizer_state() -> None:
    cls, tuned, kwargs = PLAIN["Adam"]
    path = run_optimizer(ILL_CONDITIONED, (-4.0, 1.0), RunSpec("Adam", 0.1, tuned), 5)
    table = step_table(path, ILL_CONDITIONED.param_names)
    assert list(table.columns[:6]) == ["step", "x", "y", "loss", "grad x", "grad y"]
    assert {"exp_avg[x]", "exp_avg_sq[y]"} <= set(table.columns)
    assert len(table) == 6 and math.isnan(table.loc[0, "exp_avg[x]"])
    _, states = plain_loop(ILL_CONDITIONED.fn, (-4.0, 1.0), cls, 0.1, kwargs, 3)
    assert table.loc[3, "exp_avg_sq[y]"] == states[3]["exp_avg_sq"][1].item()
    assert table.loc[5, "loss"] == pytest.approx(ILL_CONDITIONED.loss(path.points[5]).item())
    for name, column in [("SGD + momentum", "momentum_buffer[x]"), ("RMSprop", "square_avg[x]"),
                         ("Adagrad", "sum[y]")]:
        table = step_table(run_optimizer(SADDLE, (1.0, 0.5), RunSpec(name, 0.01, {}), 3), ("x", "y"))
        assert column in table.columns
    plain_sgd = step_table(run_optimizer(SADDLE, (1.0, 0.5), RunSpec("SGD", 0.01, {}), 3), ("x", "y"))
    assert list(plain_sgd.columns) == ["step", "x", "y", "loss", "grad x", "grad y"]


# ------------------------------------------------------------ generated code

CODE_CASES = [
    (classic_landscape(), "SGD + momentum", 0.01, {"momentum": 0.8}, 120),
    (dataset_landscape(line_dataset()), "Adam", 0.05, {"beta1": 0.9, "beta2": 0.99}, 80),
    (ROSENBROCK, "Nesterov", 0.0005, {"momentum": 0.9}, 150),
    (SADDLE, "RMSprop", 0.01, {"alpha": 0.95}, 60),
    (ROSENBROCK, "SGD", 0.05, {}, 400),  # diverges: the code must stop where the page stops
    (classic_landscape(), "AdamW", 0.1, {"beta1": 0.9, "beta2": 0.999, "weight_decay": 0.2}, 150),
]


@pytest.mark.parametrize("land,name,lr,settings,steps", CODE_CASES, ids=[c[0].key + c[1] for c in CODE_CASES])
def test_generated_code_reproduces_the_path(land, name, lr, settings, steps, capsys) -> None:
    start = (land.start[0] + 0.25, land.start[1] - 0.125)
    spec = RunSpec(name, lr, settings)
    path = run_optimizer(land, start, spec, steps)
    namespace: dict = {}
    exec(race_code(land, start, spec, steps), namespace)  # our own generated code, never user text
    torch.testing.assert_close(namespace["path"], path.points, rtol=0, atol=0, equal_nan=True)
    assert "steps, ended at" in capsys.readouterr().out
    if "weight_decay" in settings:
        assert f"weight_decay={settings['weight_decay']!r}" in race_code(land, start, spec, steps)


def test_adamw_weight_decay_is_always_in_the_code_and_zero_makes_it_adam() -> None:
    land = classic_landscape()
    default = race_code(land, land.start, RunSpec("AdamW", 0.1, {}), 300)
    # torch's own default (0.01) is written out, not left implicit.
    assert "torch.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), weight_decay=0.01)" in default
    assert torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 0.01
    # Also when the value arrives as the explicit argument at the class default (the Training page's way).
    assert optimizer_code("AdamW", 0.01, 0.01).endswith("weight_decay=0.01)")
    assert optimizer_code("SGD", 0.01, 0.0) == "torch.optim.SGD(model.parameters(), lr=0.01)"
    adam = run_optimizer(land, land.start, RunSpec("Adam", 0.1, {}), 300)
    adamw = run_optimizer(land, land.start, RunSpec("AdamW", 0.1, {}), 300)
    no_decay = run_optimizer(land, land.start, RunSpec("AdamW", 0.1, {"weight_decay": 0.0}), 300)
    # Decoupled decay pulls w toward 0: AdamW settles short of the minimum at w = 2, Adam does not.
    assert adam.points[-1, 0].item() == pytest.approx(2.0, abs=0.005)
    assert adamw.points[-1, 0].item() < 1.99
    torch.testing.assert_close(no_decay.points, adam.points, rtol=0, atol=0)


# ------------------------------------------------------------ figures

def test_landscape_figure_draws_every_path_bounded() -> None:
    land = ROSENBROCK
    specs = [RunSpec("SGD", 0.05, {}), RunSpec("Adam", 0.05, {}), RunSpec("Adagrad", 0.5, {})]
    result = race(land, land.start, specs, 1000)
    fig = landscape_figure(result).to_plotly_json()
    by_name = {t.get("name"): t for t in fig["data"]}
    sgd = result.path("SGD")
    assert f"SGD (lr 0.05): diverged at step {sgd.diverged_at}" in by_name
    adam = by_name["Adam (lr 0.05)"]
    xs = plotly_array(adam["x"])
    assert len(xs) <= MAX_DRAWN_POINTS
    drawn_end = (xs[-1], plotly_array(adam["y"])[-1])
    assert drawn_end == pytest.approx(result.path("Adam").points[-1].tolist())
    # The diverged path's head is an ✕; the others end in a dot.
    heads = [t for t in fig["data"] if t.get("legendgroup") and not t.get("showlegend", True)]
    symbols = {h["legendgroup"]: h["marker"]["symbol"] for h in heads}
    assert symbols == {"SGD": "x", "Adam": "circle", "Adagrad": "circle"}
    assert 2 <= len(fig["frames"]) <= MAX_FRAMES
    assert fig["layout"]["sliders"][0]["active"] == len(fig["frames"]) - 1
    # Rosenbrock's picture is coloured on log-scaled levels, up to its highest loss on the map.
    bar = next(t for t in fig["data"] if t.get("name") == "loss")
    assert bar["marker"]["showscale"] and bar["marker"]["colorbar"]["title"]["text"] == "loss (log scale)"
    assert bar["marker"]["cmax"] == pytest.approx(math.log10(land.grid(720)[2].max().item()), rel=1e-6)
    (picture,) = fig["layout"]["images"]
    assert (picture["x"], picture["y"], picture["sizex"], picture["sizey"]) == (-2, 3, 4, 4)


def test_landscape_picture_is_light_in_the_valley_and_dark_on_the_walls() -> None:
    land = ROSENBROCK  # a = x in [-2, 2], b = y in [-1, 3]; minimum at (1, 1)
    image = landscape_image(land)
    assert image.source.startswith("data:image/png;base64,") and image.log_scale
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(image.source.split(",", 1)[1]))).convert("L"))
    rows, cols = pixels.shape

    def at(a: float, b: float) -> int:
        """Brightness where (a, b) lies: the image's first row is the top of the map (b = 3)."""
        return int(pixels[round((3 - b) / 4 * (rows - 1)), round((a + 2) / 4 * (cols - 1))])

    # Light at the minimum (its narrow valley crossed by many band edges), deep blue in the far corners.
    assert at(1, 1) > 180 and at(-2, -1) < 140 and at(2, -1) < 140
    assert at(0, 0) > at(0, 2) + 40  # the valley floor (loss 1) is lighter than the slope above it (loss 401)


def test_play_buttons_and_step_slider_sit_on_separate_rows() -> None:
    # Side by side, ▶ Play / ❚❚ Pause hid the slider's track in a narrow chart and its "after step N" on a phone.
    result = race(ROSENBROCK, ROSENBROCK.start, [RunSpec("Adam", 0.05, {})], 50)
    layout = landscape_figure(result).layout
    (menu,), (slider,) = layout.updatemenus, layout.sliders
    # Both hang from the plot area's bottom edge by a pixel pad, so the rows keep apart whatever the chart's size.
    assert menu.y == slider.y == 0 and menu.yanchor == slider.yanchor == "top"
    button_px = 30  # a Plotly button's height at the default font
    assert slider.pad.t >= menu.pad.t + button_px + 5, "the slider starts below the buttons' row"
    assert menu.pad.t >= 45, "the buttons start below the x axis' ticks and title"
    assert layout.margin.b >= slider.pad.t + 70, "room for the slider's value label, track and ticks"
    assert slider.x == 0 and slider.len == 1  # the whole row: a wide track even in a narrow chart


def test_a_start_off_the_map_is_pinned_to_its_edge_and_named() -> None:
    result = race(BEALE, (1000.0, 1000.0), [RunSpec("SGD", 0.001, {})], 3)
    (start,) = [t for t in landscape_figure(result).to_plotly_json()["data"]
                if str(t.get("name", "")).startswith("start")]
    assert start["name"] == "start (1000, 1000), off the map"
    assert (start["x"][0], start["y"][0]) == pytest.approx((BEALE.a_range[1], BEALE.b_range[1]))
    inside = race(BEALE, (1.0, 1.0), [RunSpec("SGD", 0.001, {})], 3)
    names = [t.get("name") for t in landscape_figure(inside).to_plotly_json()["data"]]
    assert "start" in names


def test_loss_figure_is_log_scaled_per_optimizer() -> None:
    result = race(SADDLE, SADDLE.start, [RunSpec("SGD", 0.05, {}), RunSpec("Adam", 0.05, {})], 100)
    fig = loss_figure(result).to_plotly_json()
    assert fig["layout"]["yaxis"]["type"] == "log"
    lines = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert [t["name"] for t in lines] == ["SGD (lr 0.05)", "Adam (lr 0.05)"]
    # Distance above the minimum (-0.25), so the curve can be drawn on a log axis.
    first = plotly_array(lines[0]["y"])[0]
    assert first == pytest.approx(result.paths[0].losses[0].item() + 0.25, rel=1e-5)
    # Labelled in plain numbers from the drawn range, not Plotly's bare "2" and "5" between powers of ten.
    drawn = np.concatenate([plotly_array(t["y"]).astype(float) for t in fig["data"]])
    drawn = drawn[np.isfinite(drawn) & (drawn > 0)]
    axis = fig["layout"]["yaxis"]
    assert list(axis["tickvals"]) == log_ticks(drawn.min(), drawn.max())
    assert [float(t.replace(",", "")) for t in axis["ticktext"]] == pytest.approx(list(axis["tickvals"]))


def test_a_converged_line_fit_stays_on_the_chart_at_float32_precision() -> None:
    from torchstart.builtin_datasets import make_builtin

    land = dataset_landscape(make_builtin("line", {"n": 100, "slope": 2.0, "intercept": 1.0, "noise": 0.5,
                                                   "seed": 0}))
    result = race(land, (-0.5, 3.0), [RunSpec("SGD", 0.05, {})], 300)
    gaps = result.paths[0].losses.numpy().astype(np.float64) - land.min_value
    floor = 4 * float(np.finfo(np.float32).eps) * land.min_value
    assert (gaps[100:] <= 0).any()  # float32 rounding: a log axis could not draw these
    fig = loss_figure(result).to_plotly_json()
    (line,) = [t for t in fig["data"] if t.get("mode") == "lines"]
    drawn = plotly_array(line["y"])
    assert np.isfinite(drawn).all() and drawn.min() == pytest.approx(floor, rel=1e-6)
    (rule,) = fig["layout"]["shapes"]
    (label,) = fig["layout"]["annotations"]
    assert rule["y0"] == pytest.approx(floor) and "float32 precision" in label["text"]
    assert label["y"] == pytest.approx(math.log10(floor))  # a log axis places annotations by exponent


# ------------------------------------------------------------ stopping a race

STOP_SPECS = [RunSpec("SGD + momentum", 0.0005, {"momentum": 0.9}), RunSpec("Adam", 0.02, {}),
              RunSpec("RMSprop", 0.002, {})]


def assert_prefix(part, full) -> None:
    """``part`` is the first steps of ``full``: same points, losses, gradients and optimizer state."""
    n = len(part.points)
    assert 0 < n <= len(full.points)
    assert len(part.losses) == len(part.grads) == len(part.states) == n
    torch.testing.assert_close(part.points, full.points[:n], rtol=0, atol=0)
    torch.testing.assert_close(part.losses, full.losses[:n], rtol=0, atol=0)
    torch.testing.assert_close(part.grads, full.grads[:n], rtol=0, atol=0)
    assert part.states == full.states[:n]


def test_a_stopped_race_keeps_the_first_steps_of_the_full_race() -> None:
    steps = 400
    full = race(ROSENBROCK, ROSENBROCK.start, STOP_SPECS, steps)
    assert full.finished and not full.stopped and full.not_run == []
    stop_at = steps + 300  # 300 steps into the second optimizer
    seen = []

    def stop_after(done: int, total: int) -> bool:
        seen.append(done)
        return done >= stop_at

    into = race(ROSENBROCK, (9.0, 9.0), STOP_SPECS[:1], 5)  # an old result, filled anew in place
    result = race(ROSENBROCK, ROSENBROCK.start, STOP_SPECS, steps, on_progress=stop_after, into=into)
    assert result is into and result.stopped and not result.finished
    assert seen[-1] == stop_at  # no further progress once asked to stop
    assert [p.spec.optimizer for p in result.paths] == ["SGD + momentum", "Adam"]
    first, cut = result.paths
    assert first.stopped_at is None and first.steps_taken == steps
    assert cut.stopped_at == 300 and cut.steps_taken == 300
    assert_prefix(first, full.paths[0])
    assert_prefix(cut, full.paths[1])
    assert result.not_run == [STOP_SPECS[2]]
    with pytest.raises(KeyError, match="stopped before it ran"):
        result.path("RMSprop")
    # Everything downstream draws the partial race.
    names = {t.get("name") for t in landscape_figure(result).to_plotly_json()["data"]}
    assert {"SGD + momentum (lr 0.0005)", "Adam (lr 0.02): stopped at step 300"} <= names
    assert not any(str(n).startswith("RMSprop") for n in names)
    lines = [t["name"] for t in loss_figure(result).to_plotly_json()["data"]]
    assert lines == ["SGD + momentum (lr 0.0005)", "Adam (lr 0.02): stopped at step 300"]
    table = step_table(cut, ROSENBROCK.param_names)
    assert len(table) == 301 and table["loss"].notna().all()
    # The code for the cut path runs the steps it got to, and reproduces it.
    code = race_code(ROSENBROCK, result.start, cut.spec, cut.stopped_at, planned=steps)
    assert "stopped after 300 of 400 steps" in code
    namespace: dict = {}
    exec(code, namespace)  # our own generated code, never user text
    torch.testing.assert_close(namespace["path"], cut.points, rtol=0, atol=0)


def test_a_stop_right_at_the_end_of_an_optimizer_leaves_the_next_not_run() -> None:
    result = race(SADDLE, SADDLE.start, STOP_SPECS[:2], 200, on_progress=lambda done, total: done == 200)
    assert result.stopped and [p.stopped_at for p in result.paths] == [None]
    assert result.paths[0].steps_taken == 200 and result.not_run == [STOP_SPECS[1]]
    # Asked on the very last step of the last optimizer, nothing is left out: the race is finished.
    last = race(SADDLE, SADDLE.start, STOP_SPECS[:1], 200, on_progress=lambda done, total: done == 200)
    assert last.finished and not last.stopped and last.paths[0].steps_taken == 200


class Interrupted(Exception):
    """What a web app's rerun raises from inside the progress callback."""


def test_an_interrupted_race_keeps_its_paths_in_into() -> None:
    steps = 300
    full = race(ROSENBROCK, ROSENBROCK.start, STOP_SPECS, steps)

    def interrupt(done: int, total: int) -> None:
        if done >= steps + 200:
            raise Interrupted

    into = RaceResult(ROSENBROCK, ROSENBROCK.start, steps, [])
    with pytest.raises(Interrupted):
        race(ROSENBROCK, ROSENBROCK.start, STOP_SPECS, steps, on_progress=interrupt, into=into)
    assert into.stopped and not into.finished and len(into.paths) == 2
    assert into.paths[0].stopped_at is None
    # Cut at its last whole step: step 200's loss was not computed yet when the callback raised.
    assert into.paths[1].stopped_at == 199 == into.paths[1].steps_taken
    assert_prefix(into.paths[0], full.paths[0])
    assert_prefix(into.paths[1], full.paths[1])
    assert into.not_run == [STOP_SPECS[2]]


def test_the_race_summary_measures_each_path_to_its_nearest_minimum_and_when_it_settled() -> None:
    # The saddle has two minima, (0, 1) and (0, -1): a path that rolls down to (0, -1) is there, not 2 away.
    start = (0.3, -0.2)
    result = race(SADDLE, start, [RunSpec("SGD", 0.05, {}), RunSpec("Adam", 5.0, {})], 300)
    summary = race_summary(result).set_index("optimizer")
    sgd = result.path("SGD")
    assert float(sgd.points[-1, 1]) == pytest.approx(-1.0, abs=1e-3)
    assert summary.loc["SGD (lr 0.05)", "distance from the nearest minimum"] == pytest.approx(
        float((sgd.points[-1].double() - torch.tensor([0.0, -1.0], dtype=torch.float64)).norm()))
    distance = (sgd.points.double() - torch.tensor([0.0, -1.0], dtype=torch.float64)).norm(dim=1)
    arrived = summary.loc["SGD (lr 0.05)", ARRIVED_COLUMN]
    assert distance[arrived:].max() <= 0.01 * distance[0] < distance[arrived - 1]  # settled there, not just passing
    assert summary.loc["SGD (lr 0.05)", "last loss"] == pytest.approx(float(sgd.losses[-1]))
    # A diverged path has no arrival, and says where it diverged.
    wild = race(ROSENBROCK, ROSENBROCK.start, [RunSpec("SGD", 0.5, {})], 50)
    row = race_summary(wild).iloc[0]
    assert row["diverged at step"] == wild.paths[0].diverged_at is not None and row[ARRIVED_COLUMN] is None
    assert arrival_text(row) == f"— (diverged at step {wild.paths[0].diverged_at:,})"
    assert arrival_text(summary.reset_index().iloc[0]) == f"{arrived:,}"


@pytest.mark.parametrize("name, settings, printed, hint", [
    ("SGD + momentum", {"momentum": 0.0}, "{}", "no state"),
    ("SGD + momentum", {"momentum": 0.5}, "momentum_buffer", "momentum_buffer"),
    ("Adagrad", {}, "'sum'", "sum (of squared gradients)"),
])
def test_the_state_comment_names_what_the_snippet_prints(name, settings, printed, hint) -> None:
    land = classic_landscape()
    code = race_code(land, land.start, RunSpec(name, 0.01, settings), 5)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # our own generated code, never user text
    last = out.getvalue().strip().splitlines()[-1]
    assert printed in last and hint in code.rstrip().splitlines()[-1]

"""Streamlit widgets of the Optimizers page: landscape, start, racers, click-to-start, cached race."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from torchstart.fair_share import background_work

from pages._data_ui import K_CODE
from pages._ui import KEEP, header_stop_means, param_input, take_header_stop
from torchstart import session
from torchstart.landscapes import Landscape, available_landscapes, dataset_problem
from torchstart.optimizer_figures import landscape_figure, loss_figure
from torchstart.optimizer_race import (LEARNING_RATE, RACER_NOTES, SETTINGS, START, STEPS, RaceResult, RunSpec,
                                       check_race, race)
from torchstart.optimizers import OPTIMIZERS
from torchstart.wording import md_safe

PREFIX = "optimizers."
LANDSCAPE_KEY = PREFIX + "landscape"
RACERS_KEY = PREFIX + "racers"
CHART_KEY = PREFIX + "chart"
TABLE_FOR_KEY = PREFIX + "table_for"
RESULT_KEY = PREFIX + "result"
FIGURES_KEY = PREFIX + "figures"
# The race key whose Stop was pressed; the racing loop reads it (a plain read, no st.* call) every 100 steps.
STOP_KEY = PREFIX + "stop_requested"
STOP_BUTTON_KEY = PREFIX + "stop"
RUN_AGAIN_KEY = PREFIX + "run_again"
# How long a rerun waits for the stopped script run's thread to finish writing its partial race.
STOP_WAIT_S = 10.0
DEFAULT_RACERS = ["SGD", "SGD + momentum", "Adam"]


def start_keys(land: Landscape) -> tuple[str, str]:
    """Session keys of the two start coordinates, one pair per landscape."""
    return f"{PREFIX}start.{land.key}.0", f"{PREFIX}start.{land.key}.1"


def lr_key(land: Landscape, optimizer: str) -> str:
    """Session key of an optimizer's learning rate on one landscape (landscapes want different lrs)."""
    return f"{PREFIX}lr.{land.key}.{optimizer}"


def landscape_picker() -> Landscape:
    """Choose the landscape; say why the Data page's dataset is or is not on offer."""
    dataset = st.session_state.get(session.DATASET)
    # The Data page's code builds the dataset in the snippet when it has too many rows to print.
    lands = {land.key: land for land in available_landscapes(dataset, st.session_state.get(K_CODE, ""))}
    if st.session_state.get(LANDSCAPE_KEY) not in lands:  # e.g. the Data page's dataset changed
        st.session_state.pop(LANDSCAPE_KEY, None)
    key = st.selectbox("Loss landscape", list(lands), format_func=lambda k: lands[k].title, key=LANDSCAPE_KEY,
                       persist_state=KEEP,
                       help="Every landscape is a torch function of a two-element parameter tensor p.")
    problem = dataset_problem(dataset)
    if problem:
        st.caption(md_safe(problem))
    elif not key.startswith("data:"):  # it is on offer, but a newcomer would not look in the list
        st.caption(md_safe(f"The Data page's dataset “{dataset.name}” is in this list too: pick its line fit to "
                           "race on your own data."))
    return lands[key]


def start_and_steps(land: Landscape) -> tuple[tuple[float, float], int]:
    """Start coordinates (number inputs, also set by clicking the map) and the number of steps."""
    keys = start_keys(land)
    for key, default in zip(keys, land.start):
        st.session_state.setdefault(key, float(default))
    # One above the other: the page draws them in the narrow column beside the map.
    start = tuple(
        st.number_input(f"Start {name}", min_value=START.min_value, max_value=START.max_value, step=START.step,
                        format=START.format, key=key, persist_state=KEEP, help=f"{START.help} Or click the map.")
        for name, key in zip(land.param_names, keys)
    )
    steps = param_input(replace(STEPS, default=land.default_steps), key=f"{PREFIX}steps.{land.key}")
    return start, steps  # type: ignore[return-value]


def racer_picker() -> list[str]:
    """Pick the optimizers to race."""
    return st.multiselect("Optimizers to race", list(OPTIMIZERS), default=DEFAULT_RACERS, key=RACERS_KEY,
                          persist_state=KEEP, help="Each one is the real torch.optim class, run from the same start.")


def racer_settings(land: Landscape, racers: list[str]) -> list[RunSpec]:
    """A card per racer, one above the other: its learning rate and main settings."""
    if len(racers) > 1:
        st.caption("Each starts at a learning rate that suits it on this landscape, not at one shared rate: "
                   "SGD's step is lr × the gradient, Adam's about lr whatever the gradient, so one number means "
                   "different steps. Type the same rate in each to race them like for like.")
    specs = []
    for name in racers:  # one card per row: two side by side in a narrow column broke "Learni/ng rate"
        box = st.container(border=True)
        box.markdown(f"**{name}**", help=f"torch.optim.{OPTIMIZERS[name].cls.__name__}")
        # Named per racer: three boxes all called "Learning rate" were told apart only by sight.
        lr_param = replace(LEARNING_RATE, default=land.lr_for(name, OPTIMIZERS[name].default_lr),
                           label=f"Learning rate ({name})")
        lr = param_input(lr_param, key=lr_key(land, name), container=box)
        settings = {setting: param_input(replace(SETTINGS[setting], default=value),
                                         key=f"{PREFIX}{setting}.{name}", container=box)
                    for setting, value in OPTIMIZERS[name].tunable.items()}
        if name in RACER_NOTES:
            box.caption(RACER_NOTES[name])
        specs.append(RunSpec(name, float(lr), settings))
    return specs


def start_from_click(land: Landscape) -> None:
    """``on_select`` callback: a clicked point on the map becomes the start point."""
    event: Any = st.session_state.get(CHART_KEY)
    points = event.selection.points if event else []
    if not points:
        return
    for key, coord in zip(start_keys(land), ("x", "y")):
        value = float(points[0][coord])
        st.session_state[key] = float(f"{min(max(value, START.min_value), START.max_value):.3g}")


def race_key(land: Landscape, start: tuple[float, float], specs: list[RunSpec], steps: int) -> tuple:
    """Everything a race depends on, to skip recomputing on reruns that change nothing."""
    return (land.key, start, steps, tuple((s.optimizer, s.lr, tuple(sorted(s.settings.items()))) for s in specs))


def _request_stop(key: tuple) -> None:
    """Stop's callback: it runs at the start of the rerun the click causes, once the racing run has unwound."""
    st.session_state[STOP_KEY] = key


def _run_again() -> None:
    """Run again's callback: forget the Stop, so this rerun races the same settings in full."""
    st.session_state.pop(STOP_KEY, None)


def _settled(result: RaceResult, wait_s: float = STOP_WAIT_S) -> RaceResult:
    """``result`` once a racing thread has finished writing it (at most ``wait_s``); with fastReruns off, as the
    app runs, the interrupted run has unwound before this rerun, so it is already settled."""
    deadline = time.monotonic() + wait_s
    # The racing thread gives way to page runs (fair_share): waiting as one would slow it to a crawl.
    with background_work():
        while not (result.stopped or result.finished) and time.monotonic() < deadline:
            time.sleep(0.02)
    return result


def cached_race(land: Landscape, start: tuple[float, float], specs: list[RunSpec], steps: int) -> RaceResult:
    """Run the race (with a progress bar and Stop) unless the same race is already in this session.

    A stopped race stays as it is (partial) on later reruns until Run again or a new setting.
    """
    key = race_key(land, start, specs, steps)
    cached = st.session_state.get(RESULT_KEY)
    if take_header_stop("optimizer_race") and cached:
        _request_stop(cached[0])  # Streamlit's own Stop ended that race: as the page's Stop
    if st.session_state.get(STOP_KEY) not in (None, key):
        st.session_state.pop(STOP_KEY)  # the Stop was for other settings: this race runs in full
    if cached and cached[0] == key:
        if cached[1].finished:
            return cached[1]
        if st.session_state.get(STOP_KEY) == key:
            return _settled(cached[1])
    check_race(land, start, specs, steps)  # refused settings keep the previous race (before it is replaced)
    result = RaceResult(land, start, steps, [])
    # Stored before racing: a Stop click's rerun interrupts this script run, and the partial race must survive.
    st.session_state[RESULT_KEY] = (key, result)
    slot = st.empty()
    with slot.container():
        bar_col, stop_col = st.columns([4, 1], vertical_alignment="center")
        bar = bar_col.empty()
        stop_col.button("Stop", key=STOP_BUTTON_KEY, icon=":material/stop:", on_click=_request_stop, args=(key,),
                        help="End the race within 100 steps and show the paths so far.")
    last_draw = [0.0]

    def progress(done: int, total: int) -> bool:
        # Read the flag before any st.* call: the redraw is where the Stop click's rerun interrupts this run.
        if st.session_state.get(STOP_KEY) == key:
            return True
        now = time.monotonic()
        if now - last_draw[0] > 0.1:  # redraw at most 10 times a second
            last_draw[0] = now
            bar.progress(done / max(total, 1), text=f"Racing: {done:,} of {total:,} steps (Stop keeps the paths "
                                                           "so far; changing a setting restarts)")
        return False

    # background_work: other sessions' page runs go first while this races.
    with header_stop_means("optimizer_race"), background_work():
        race(land, start, specs, steps, on_progress=progress, into=result)
    slot.empty()
    return result


def stopped_note(result: RaceResult) -> None:
    """Say that the race was stopped, what it got to, and offer Run again."""
    st.info("You stopped the race: these are the paths computed so far. Press **Run again** or change any "
            "setting to race again.", icon=":material/stop_circle:")
    st.button("Run again", key=RUN_AGAIN_KEY, icon=":material/replay:", on_click=_run_again,
              help="Race these settings again, in full.")
    cut = [f"{p.spec.label} at step {p.stopped_at:,} of {result.steps:,}" for p in result.paths
           if p.stopped_at is not None]
    parts = [f"Stopped: {', '.join(cut)}." if cut else "Stopped between two optimizers."]
    if result.not_run:
        parts.append(f"Not run: {', '.join(spec.label for spec in result.not_run)}.")
    st.caption(" ".join(parts))


def race_figures(result: RaceResult) -> tuple[go.Figure, go.Figure]:
    """The landscape and loss figures of ``result``, built once per race (reruns reuse them)."""
    cached = st.session_state.get(FIGURES_KEY)
    # The race's size and status too: a stopped race that was still being written is drawn again once done.
    version = (len(result.paths), result.stopped, result.finished)
    if cached is None or cached[0] is not result or cached[3] != version:
        cached = (result, landscape_figure(result), loss_figure(result), version)
        st.session_state[FIGURES_KEY] = cached
    return cached[1], cached[2]


def last_result() -> RaceResult | None:
    """The previous race of this session, shown when the new settings were refused."""
    cached = st.session_state.get(RESULT_KEY)
    return cached[1] if cached else None

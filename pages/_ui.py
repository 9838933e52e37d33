"""Streamlit glue shared by the pages: parameter widgets, code panels, errors, device choice.

Pages import from here so that each page stays a thin script: widgets in,
one call into ``torchstart``, render out.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import streamlit as st

from torchstart import session
from torchstart.data_figures import image_grid_figure
from torchstart.datasets import TabularDataset
from torchstart.devices import available_devices, describe_device, resolve_device
from torchstart.errors import TorchstartError
from torchstart.params import BoolParam, ChoiceParam, FloatParam, IntParam, Param
from torchstart.wording import md_safe, plural  # noqa: F401 - the pages import plural from here

import torch
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import StopException


def _ensure_frame() -> None:
    """Make sure pages run inside ``app.py``'s frame, even on a server's very first request.

    With a ``pages/`` folder beside the main script, Streamlit starts each server
    process in its legacy multipage mode until ``st.navigation`` is first called.
    If the first request of a fresh server is for ``/models``, say, Streamlit runs
    ``pages/models.py`` on its own (no frame, every file of ``pages/`` in the
    sidebar). Every page imports this module, so the first such run lands here:
    switch the process to ``st.navigation`` mode and rerun through ``app.py``.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_ensure_frame()


# Streamlit forgets a widget's value once a run does not draw it, so a visit to another page would
# reset every setting; "session" keeps each keyed widget's value for the whole browser session.
KEEP = "session"


def param_input(param: Param, key: str, container: Any = None, **kwargs: Any) -> Any:
    """Draw the widget for a declarative parameter and return its (checked) value; it survives page visits."""
    where = container if container is not None else st
    kwargs.setdefault("persist_state", KEEP)
    if isinstance(param, IntParam):
        return where.number_input(param.label, min_value=param.min_value, max_value=param.max_value,
                                  value=param.default, step=param.step, help=param.help or None,
                                  key=key, **kwargs)
    if isinstance(param, FloatParam):
        return where.number_input(param.label, min_value=param.min_value, max_value=param.max_value,
                                  value=param.default, step=param.step, format=param.format,
                                  help=param.help or None, key=key, **kwargs)
    if isinstance(param, ChoiceParam):
        return where.selectbox(param.label, param.options, index=param.options.index(param.default),
                               format_func=param.label_for, help=param.help or None, key=key, **kwargs)
    if isinstance(param, BoolParam):
        return where.checkbox(param.label, value=param.default, help=param.help or None, key=key, **kwargs)
    raise TypeError(f"unknown parameter type {type(param).__name__}")


def show_code(code: str, label: str = "Show code", expanded: bool = False) -> None:
    """An expander holding the PyTorch code that reproduces what the page shows."""
    with st.expander(label, expanded=expanded, icon=":material/code:"):
        st.code(code, language="python")


def show_predictions(table: pd.DataFrame, key: str) -> None:
    """A prediction table, laid out alike on every page that predicts."""
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    # Streamlit's own number format where it is right; as text where it is not: a number of 2⁵³ or more
    # lost its exponent (9.7e29 read "9.706755547"), and an overflow read "Infinity".
    shown, config = number_columns(table, dict.fromkeys(floats), text=lambda v: f"{v:.6g}", print_like=True)
    inputs = set(table.attrs.get("inputs", ()))
    for column in table.columns:
        settings = config.setdefault(column, st.column_config.Column())
        if str(column).startswith("predicted ") and column not in inputs:
            # The answer is pinned to the left: after eight inputs, or the logits and probabilities, it sat
            # past the table's right edge at 1024 px.
            settings["pinned"] = True
        elif column in floats:
            settings["width"] = 96  # sized from the header alone, "P(2)" cut 0.00000001 to "000001"
    st.dataframe(shown, hide_index=True, key=key, column_config=config)
    values = table[floats].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        st.caption("**inf** is a number beyond float32's largest, about 3.4e38: the inputs (or weights) are too "
                   "large for the model's arithmetic. **nan** is no number at all (inf − inf, 0 × inf). Smaller "
                   "inputs give finite answers.")


def beside_picture(row: TabularDataset, key: str) -> Any:
    """Draw a one-row dataset as a small picture in a narrow left column when it is a square image.

    Returns where the rest goes: the wide right column, or the page itself when the row is no picture.
    """
    picture = image_grid_figure(row, count=1)
    if picture is None:
        return st.container()
    left, right = st.columns([1, 3], vertical_alignment="center")
    picture.update_layout(title=None, height=170, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    left.plotly_chart(picture, key=key, config={"staticPlot": True})
    return right


def table_height(rows: int, limit: int = 400) -> int:
    """Pixel height for st.dataframe that fits ``rows`` rows and the header (by default it shows ten), to ``limit``."""
    return min(35 * (rows + 1) + 3, limit)


def number_columns(frame: pd.DataFrame, formats: dict[str, str | None], missing: str = "nan",
                   blank_rows: pd.Series | None = None,
                   text: Callable[[float], str] | None = None,
                   print_like: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` and a column_config showing ``formats`` (printf, e.g. "%.4g"; None: Streamlit's), NaN made readable.

    st.dataframe prints a NaN cell as "None", which reads as Python's None. A column holding
    NaN becomes right-aligned text instead: its numbers as ``text`` writes them (else with the
    printf format), ``missing`` in the NaN cells ("nan", what torch prints, for an undefined
    statistic), and "—" in the rows ``blank_rows`` marks, where no value applies. With
    ``print_like``, a column holding ±inf or -0.0 becomes text too, so they read as print()
    writes them ("inf", "-inf", "-0") rather than as Streamlit does ("Infinity", "0"). So does
    a column holding a number of 2⁵³ or more: Streamlit drops the format there (1e24 read
    "1.000001022654744…", as if it were about 1).
    """
    shown, config = frame.copy(), {}
    for column, fmt in formats.items():
        values = frame[column]
        if not (values.isna().any() or _beyond_format(values) or (print_like and _inf_or_negative_zero(values))):
            config[column] = st.column_config.NumberColumn(format=fmt)
            continue
        write = text or (lambda v, f=fmt: f % v)
        cells = [missing if v != v else write(v) for v in values.tolist()]  # v != v: NaN
        if blank_rows is not None:
            cells = ["—" if blank else cell for cell, blank in zip(cells, blank_rows.tolist())]
        shown[column] = cells
        config[column] = st.column_config.TextColumn(alignment="right")
    return shown, config


def _beyond_format(values: pd.Series) -> bool:
    """Whether a column holds a finite number of 2⁵³ or more, which Streamlit's NumberColumn shows unformatted."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return bool((np.isfinite(numbers) & (np.abs(numbers) >= 2.0 ** 53)).any())


def _inf_or_negative_zero(values: pd.Series) -> bool:
    """Whether a column holds ±inf or -0.0 (non-numbers are ignored)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return bool(np.isinf(numbers).any() or ((numbers == 0) & np.signbit(numbers)).any())


# Session state: the long jobs (by name) that Streamlit's own Stop ended; see ``header_stop_means``.
HEADER_STOPPED = "header_stopped"


@contextmanager
def header_stop_means(work: str) -> Iterator[None]:
    """Around long work: remember it if Streamlit's own Stop (the header's, or the tab closing) ends the script.

    That Stop raises ``StopException`` at the work's next ``st.*`` call (a click or a page change raises
    ``RerunException`` instead, as long as fastReruns is off in config.toml), and no rerun
    follows, so the page cannot redraw or even write ``st.session_state`` (it raises
    again). The name goes into a set the session already holds; the next rerun (any
    click) turns it into the page's own Stop with ``take_header_stop``, so the work
    shows as stopped instead of quietly starting again.
    """
    stopped: set[str] = st.session_state.setdefault(HEADER_STOPPED, set())
    stopped.discard(work)
    try:
        yield
    except StopException:
        stopped.add(work)
        raise


def take_header_stop(work: str) -> bool:
    """Whether Streamlit's own Stop ended ``work`` since this was last asked (asking forgets it)."""
    stopped: set[str] = st.session_state.get(HEADER_STOPPED, set())
    if work in stopped:
        stopped.discard(work)
        return True
    return False


def show_error(err: Exception) -> None:
    """Show a learner-facing error; ``TorchstartError`` text is written to be read as it is."""
    st.error(md_safe(str(err)), icon=":material/error:")


def coming_soon(what: str) -> None:
    """A short note for a page whose content lands in a later change."""
    st.info(f"Coming soon: {what}", icon=":material/construction:")


def device_picker() -> None:
    """The shared sidebar choice of compute device, stored per session."""
    names = available_devices()
    if st.session_state.get(session.DEVICE) not in names:
        # The first GPU, as torch.device("cuda") means cuda:0: the idiom the Device page teaches.
        st.session_state[session.DEVICE] = names[1] if len(names) > 1 else "cpu"
    st.selectbox("Compute device", names, key=session.DEVICE, format_func=describe_device,
                 help="The Tensors, Models, Training and Device pages compute on this device. "
                      "CUDA appears only when PyTorch can see a GPU.")
    if len(names) == 1:
        st.caption("No GPU visible to PyTorch here: everything runs on the CPU.")


def current_device() -> torch.device:
    """The device the learner picked in the sidebar."""
    return resolve_device(st.session_state.get(session.DEVICE))


__all__ = [
    "TorchstartError", "param_input", "show_code", "show_error", "coming_soon",
    "device_picker", "current_device", "table_height",
]

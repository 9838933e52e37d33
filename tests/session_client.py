"""A headless Streamlit session: speaks the app's real websocket protocol, no browser needed.

The load test and the session-memory benchmark open many of these at once
against a real ``streamlit run`` server. Each is one browser tab's worth of
server-side state (a real ``AppSession``), but costs the client almost nothing,
so the measurements are of the server, not of 20 Chromium tabs on 2 cores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect

# Element types that carry a widget id and a label.
WIDGET_TYPES = {"button", "checkbox", "number_input", "selectbox", "slider", "text_input", "radio",
                "toggle", "text_area", "segmented_control", "button_group", "download_button"}


@dataclass
class RunResult:
    """What one script run sent back: its duration, elements and any exception texts."""

    page: str
    seconds: float
    elements: list[tuple[str, Any]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    status: int = -1

    def texts(self) -> str:
        """All markdown/text/metric/code strings of the run, joined (for assertions)."""
        parts = []
        for kind, el in self.elements:
            if kind in ("markdown", "text", "code", "alert", "heading"):
                parts.append(getattr(el, "body", "") or getattr(el, "code_text", ""))
            elif kind == "metric":
                parts.append(f"{el.label} {el.body}")
        return "\n".join(parts)

    def widget_id(self, label: str, kind: str | None = None) -> str:
        """The id of the widget whose label is ``label`` (and type ``kind`` if given)."""
        for el_kind, el in self.elements:
            if el_kind in WIDGET_TYPES and (kind is None or kind == el_kind) and el.label == label:
                return el.id
        raise KeyError(f"no widget labelled {label!r} on {self.page!r}")


class SessionClient:
    """One Streamlit session over ``/_stcore/stream``."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout)
        self.ws.__enter__()  # the sync client wants a context; close() leaves it
        self.last: RunResult | None = None
        self.page = ""
        # Like a browser, every rerun carries every value the user has set: Streamlit treats
        # a widget missing from the list as back at its default.
        self.values: dict[str, WidgetState] = {}

    def run(self, page: str | None = None, widget_states: list[WidgetState] | None = None) -> RunResult:
        """Rerun ``page`` (url_path; '' is home) and wait until the script run finishes."""
        if page is not None:
            self.page = page
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = self.page
        triggers = [state for state in widget_states or [] if state.HasField("trigger_value")]
        for state in widget_states or []:
            if not state.HasField("trigger_value"):
                self.values[state.id] = state
        for state in [*self.values.values(), *triggers]:
            msg.rerun_script.widget_states.widgets.append(state)
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        result = RunResult(self.page, 0.0)
        deadline = start + self.timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"script run of {self.page!r} did not finish in {self.timeout:.0f}s")
            fwd = ForwardMsg()
            fwd.ParseFromString(self.ws.recv(timeout=remaining))
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                el_kind = element.WhichOneof("type")
                result.elements.append((el_kind, getattr(element, el_kind)))
                if el_kind == "exception":
                    result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
            elif kind == "script_finished":
                result.status = fwd.script_finished
                # A rerun request (e.g. st.rerun) finishes this run and starts another: keep reading.
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                break
        result.seconds = time.perf_counter() - start
        self.last = result
        return result

    def click(self, label: str) -> RunResult:
        """Click the button labelled ``label`` on the current page (as the browser would)."""
        assert self.last is not None, "run a page before clicking"
        state = WidgetState(id=self.last.widget_id(label, "button"), trigger_value=True)
        return self.run(widget_states=[state])

    def set_number(self, label: str, value: float, integer: bool = True) -> RunResult:
        """Set a number_input by label and rerun."""
        assert self.last is not None, "run a page before setting widgets"
        state = WidgetState(id=self.last.widget_id(label, "number_input"))
        if integer:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
        return self.run(widget_states=[state])

    def close(self) -> None:
        """Close the websocket; the server drops the session."""
        self.ws.__exit__(None, None, None)

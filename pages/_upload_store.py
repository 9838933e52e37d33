"""Uploaded files Streamlit keeps in server memory: let go of the ones no page can reach any more.

Streamlit 1.67 keeps every upload in its in-memory upload store until the session shuts down,
and two paths never free them:
- a file replaced by a new upload after the uploader left the page and came back (the browser
  asks to delete only a file its uploader still shows), so each re-upload adds a copy;
- a session dropped two minutes after its tab closed: the reconnect store evicts it without
  ``AppSession.shutdown()``, the call that clears the session's uploads.
A 100 MB .pth re-uploaded a few times by a few learners is gigabytes that never come back.
The pages keep what they parsed from a file (a table, a checkpoint), never the upload itself.
"""

from __future__ import annotations

import gc
import threading
import time

from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

SWEEP_EVERY_S = 60.0
# Process-wide bookkeeping (when the last sweep ran, which session ids it saw), no user data.
_sweep_lock = threading.Lock()
_last_sweep = [0.0]
_known_sessions: set[str] = set()


def release_upload(file_id: str | None) -> None:
    """Drop ``file_id`` from this session's upload store: a newer upload has replaced it."""
    ctx = get_script_run_ctx()
    if file_id and ctx is not None and runtime.exists():
        runtime.get_instance().uploaded_file_mgr.remove_file(ctx.session_id, file_id)


def sweep_dropped_sessions(now: float | None = None) -> list[str]:
    """Drop the uploads of sessions Streamlit no longer holds (at most once a minute); return their ids."""
    now = time.monotonic() if now is None else now
    if not runtime.exists() or not _sweep_lock.acquire(blocking=False):
        return []
    try:
        if now - _last_sweep[0] < SWEEP_EVERY_S:
            return []
        _last_sweep[0] = now
        rt = runtime.get_instance()
        store = getattr(rt.uploaded_file_mgr, "file_storage", None)  # MemoryUploadedFileManager's own dict
        # The live and the reconnectable sessions: no public API. AppTest's stand-in runtime has none.
        sessions = getattr(rt, "_session_mgr", None)
        if not isinstance(store, dict) or not all(hasattr(sessions, api)
                                                  for api in ("get_session_info", "list_sessions")):
            return []
        dropped = [sid for sid in list(store) if sessions.get_session_info(sid) is None]
        for sid in dropped:
            rt.uploaded_file_mgr.remove_session_files(sid)
        held = {info.session.id for info in sessions.list_sessions()}
        gone = _known_sessions - held
        _known_sessions.clear()
        _known_sessions.update(held)
        if dropped or gone:
            # A dropped session's state (models, tensors, tables) sits in reference cycles: with
            # runner.postScriptGC off, an idle server may not run a full collection for a long time.
            gc.collect()
        return dropped
    finally:
        _sweep_lock.release()

"""Run the app's generated Show code in tests: our own code, never learner text."""

from __future__ import annotations

import contextlib
import io
import warnings


def run_code(code: str, quiet_warnings: bool = False) -> tuple[dict, str]:
    """Execute generated code; return its namespace and what it printed (``quiet_warnings`` hides its warnings)."""
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        if quiet_warnings:
            warnings.simplefilter("ignore")
        exec(compile(code, "<show code>", "exec"), namespace)  # noqa: S102 - our generated code
    return namespace, out.getvalue()

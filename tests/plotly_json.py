"""Reading Plotly figure JSON from a chart's proto spec in tests."""

from __future__ import annotations

import base64

import numpy as np


def plotly_array(value) -> np.ndarray:
    """A Plotly JSON array: a plain list, or plotly.py's base64 typed array (``{"dtype", "bdata", "shape"}``)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in str(value.get("shape", flat.size)).split(",")])
    return np.asarray(value)

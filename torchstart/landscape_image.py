"""The Optimizers page's loss landscape as a picture: filled contour bands with their edges, as a PNG.

Plotly.js clears contour and heatmap traces from a chart as soon as its animation runs (plotly.js
#4491: with ``redraw`` true or false), so ▶ Play showed the paths over an empty plot. A layout image
sits outside the traces and stays put; a scatter trace of one invisible point carries the colour bar.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from torchstart.landscapes import STANDARD_LANDSCAPES, Landscape

IMAGE_PIXELS = 360  # per side: about the plot area's width, so the band edges look drawn, not pixelated
LEVELS = 30
LOG_FLOOR = 1e-3  # log-scaled levels start here: the valley floor is flatter than any level below it
# Light valley, darker walls: the coloured paths stay readable everywhere.
CONTOUR_COLORS = [[0.0, "#ffffff"], [0.35, "#dbe9f6"], [0.7, "#9ecae1"], [1.0, "#4a90c2"]]
EDGE_RGB, EDGE_ALPHA = (60, 90, 130), 0.35  # the line between two bands, blended over them


@dataclass
class LandscapeImage:
    """A PNG of the landscape, and the range of the values its colours stand for."""

    source: str  # a data: URL, as Plotly's layout.images takes
    low: float   # the value the lightest colour stands for (log10 of it on a log scale)
    high: float
    log_scale: bool


def shown_values(land: Landscape, n: int) -> np.ndarray:
    """The values the colours show on an n×n grid: the loss, or log10 of its height above the minimum."""
    z = land.grid(n)[2].double().numpy()
    if land.log_levels:
        return np.log10(np.maximum(z - land.min_value, LOG_FLOOR))
    return z


def colours_at(fraction: np.ndarray) -> np.ndarray:
    """RGB (0-255) of the colour scale at each ``fraction`` in [0, 1], linear between its stops."""
    stops = [s for s, _ in CONTOUR_COLORS]
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for _, c in CONTOUR_COLORS], dtype=float)
    return np.stack([np.interp(fraction, stops, rgb[:, k]) for k in range(3)], axis=-1)


def landscape_image(land: Landscape, pixels: int = IMAGE_PIXELS) -> LandscapeImage:
    """``LEVELS`` equal bands of the shown values, each filled with its colour, their edges drawn."""
    # Drawn at twice the size, then halved: each pixel averages four, so band edges come out smooth.
    shown = shown_values(land, 2 * pixels)
    finite = shown[np.isfinite(shown)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = high - low if high > low else 1.0
    band = np.clip(np.floor((np.nan_to_num(shown, nan=high) - low) / span * LEVELS), 0, LEVELS - 1).astype(int)
    rgb = colours_at((band + 0.5) / LEVELS)
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, :-1] |= band[:, 1:] != band[:, :-1]
    edge[:-1, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = (1 - EDGE_ALPHA) * rgb[edge] + EDGE_ALPHA * np.array(EDGE_RGB)
    # Row i of the grid is the i-th b value from the bottom; an image's first row is its top.
    picture = Image.fromarray(np.flipud(rgb).round().astype(np.uint8), mode="RGB").reduce(2)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return LandscapeImage(source, low, high, land.log_levels)


_STANDARD_PICTURES: dict[str, LandscapeImage] = {}


def picture_of(land: Landscape) -> LandscapeImage:
    """``landscape_image(land)``, drawn once per process for the fixed test functions.

    Only those: a landscape made from a learner's data is theirs alone and is drawn for each race.
    """
    if not any(land is standard for standard in STANDARD_LANDSCAPES):
        return landscape_image(land)
    if land.key not in _STANDARD_PICTURES:
        _STANDARD_PICTURES[land.key] = landscape_image(land)
    return _STANDARD_PICTURES[land.key]


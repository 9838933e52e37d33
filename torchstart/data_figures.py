"""Plotly figures for the Data page, built from computed results (no Streamlit here)."""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go
import torch

from torchstart.data_prep import dataset_classes
from torchstart.datasets import TabularDataset
from torchstart.layers import Shape, picture_shape, picture_words, spaced
from torchstart.wording import plotly_safe, plural

MAX_SCATTER_POINTS = 2_000
# Cyclic qualitative colours, so neighbouring batch numbers look different; no grey among them, which means dropped.
BATCH_COLOURS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6",
                 "#9D755D")
DROPPED_COLOUR = "#4d4d4d"  # dark grey under white text: readable on a light or a dark page


# For more batches than BATCH_COLOURS: batch number on a blue-yellow-red scale, read off a colour bar (cycled
# colours repeat every 9 batches, so 50 batches of 2 read as noise), still with no grey in it.
BATCH_SCALE = [[0.0, "#4C78A8"], [0.5, "#EECA3B"], [1.0, "#E45756"]]


def batch_grid_figure(grid: np.ndarray, n_samples: int) -> go.Figure:
    """Sample index x epoch, each cell coloured by the batch that held the sample (dark grey: dropped)."""
    epochs, samples = grid.shape
    # A cell fits a number, not "dropped" (it was cut to "droppec"): the cell says ×, its hover says dropped.
    text = np.where(grid < 0, "×", grid.astype(str))
    hover = np.where(grid < 0, "dropped", np.char.add("batch ", grid.astype(str)))
    common = dict(x=np.arange(samples), y=[f"epoch {e}" for e in range(epochs)], text=text, customdata=hover,
                  xgap=1, ygap=2, hovertemplate="sample %{x}, %{y}: %{customdata}<extra></extra>")
    n_batches = int(grid.max()) + 1 if grid.size else 0
    if n_batches <= len(BATCH_COLOURS):
        colours = (*BATCH_COLOURS, DROPPED_COLOUR)
        colour_index = np.where(grid < 0, len(BATCH_COLOURS), grid % len(BATCH_COLOURS)).astype(float)
        scale = []
        for i, colour in enumerate(colours):  # a stepped scale: one flat colour per index
            lo, hi = i / len(colours), (i + 1) / len(colours)
            scale += [[lo, colour], [hi, colour]]
        fig = go.Figure(go.Heatmap(
            z=colour_index, zmin=-0.5, zmax=len(colours) - 0.5, colorscale=scale, showscale=False, **common,
            # No font colour: Plotly then picks black or white per cell, whichever reads on its colour (white
            # numbers on the yellow and pink batches could not be read).
            texttemplate="%{text}" if samples <= 40 else None, textfont={"size": 11},
        ))
        key = "dark grey × = dropped"
    else:
        dropped = grid < 0
        fig = go.Figure(go.Heatmap(z=np.where(dropped, np.nan, grid).astype(float), zmin=0, zmax=n_batches - 1,
                                   colorscale=BATCH_SCALE, showscale=True,
                                   colorbar={"title": {"text": "batch"}, "thickness": 12}, **common))
        if dropped.any():  # a flat dark grey layer in the dropped cells only
            fig.add_trace(go.Heatmap(z=np.where(dropped, 1.0, np.nan), colorscale=[[0, DROPPED_COLOUR],
                                     [1, DROPPED_COLOUR]], showscale=False, **common))
        key = f"colour = batch 0–{n_batches - 1} (see the bar); dark grey = dropped"
    shown = f"samples 0-{samples - 1} of {n_samples:,}" if samples < n_samples else f"all {n_samples:,} samples"
    fig.update_layout(
        # Two short lines: Plotly does not wrap a title, and one long line ran off a phone-wide chart.
        title=f"Which batch each sample lands in<br><span style='font-size:12px;font-weight:normal'>{shown}; "
              f"{key}</span>",
        # No grid lines across the cells, and gaps that show the page itself (light or dark theme).
        xaxis={"title": "sample index", "dtick": 1 if samples <= 40 else None, "showgrid": False, "zeroline": False},
        yaxis={"autorange": "reversed", "showgrid": False},
        height=140 + 40 * epochs, margin={"l": 10, "r": 10, "t": 70, "b": 40},
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th`` … ``11th``, ``12th``, ``13th`` … ``21st``, ``112th``."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def looks_like_classes(targets: torch.Tensor) -> bool:
    """Few distinct whole-number targets, each shared by several rows: class labels, not measurements."""
    labels = torch.unique(targets)
    return len(labels) <= 10 and len(labels) * 2 < len(targets) and bool(torch.all(labels == labels.round()))


def dataset_figure(dataset: TabularDataset) -> go.Figure | None:
    """A scatter of the data when it is drawable: y against x for one feature, x1/x2 by class for two.

    Classes are 0/1-style labels in one target column, or one-hot class columns (class = argmax).
    """
    x, y = dataset.features, dataset.targets
    # Long names are cut on the axes and in the legend (190 characters squeezed the plot to a sliver) and given
    # whole in the hover label; "meta" carries them there, so Plotly never reads a name as a %{...} template.
    features, targets = list(dataset.feature_names), list(dataset.target_names)
    step = max(1, len(x) // MAX_SCATTER_POINTS)
    x, y = x[::step], y[::step]
    if dataset.n_features == 1 and dataset.n_targets == 1:
        fig = go.Figure(go.Scatter(x=x[:, 0].numpy(), y=y[:, 0].numpy(), mode="markers",
                                   marker={"size": 7, "opacity": 0.7}, **_hover(features[0], targets[0])))
        fig.update_layout(xaxis_title=_short(features[0], X_NAME), yaxis_title=_short(targets[0], Y_NAME))
    elif dataset.n_features == 2 and dataset.n_targets == 1 and looks_like_classes(y):
        fig = go.Figure()
        for i, label in enumerate(torch.unique(y).tolist()):
            rows = y[:, 0] == label
            name = f"{targets[0]} = {label:g}"
            fig.add_trace(go.Scatter(x=x[rows, 0].numpy(), y=x[rows, 1].numpy(), mode="markers",
                                     name=_short(name, LEGEND_NAME), **_hover(*features, name),
                                     marker={"size": 8, "opacity": 0.75, "color": BATCH_COLOURS[i]}))
        fig.update_layout(xaxis_title=_short(features[0], X_NAME), yaxis_title=_short(features[1], Y_NAME))
    elif dataset.n_features == 2 and dataset_classes(dataset):
        fig = go.Figure()
        labels = y.argmax(1)  # the class index of each one-hot row
        for i, name in enumerate(targets):
            rows = labels == i
            fig.add_trace(go.Scatter(x=x[rows, 0].numpy(), y=x[rows, 1].numpy(), mode="markers",
                                     name=_short(name, LEGEND_NAME), **_hover(*features, name),
                                     marker={"size": 8, "opacity": 0.75,
                                             "color": BATCH_COLOURS[i % len(BATCH_COLOURS)]}))
        fig.update_layout(xaxis_title=_short(features[0], X_NAME), yaxis_title=_short(features[1], Y_NAME))
    else:
        return None
    shown = f" (every {ordinal(step)} of {len(dataset.features):,} rows)" if step > 1 else ""
    fig.update_layout(title=f"{plotly_safe(dataset.name)}{shown}", height=320,
                      margin={"l": 10, "r": 10, "t": 40, "b": 40})
    return fig


# Characters of a column or class name shown under the x axis, beside the y axis (320 px tall), in the legend.
X_NAME, Y_NAME, LEGEND_NAME = 60, 30, 30
HOVER_LINE = 60  # a whole name in the hover label is broken into lines this long


def _short(name: str, limit: int) -> str:
    """A name for an axis title or legend entry: cut to ``limit`` characters with an ellipsis, tags shown as typed."""
    return plotly_safe(name if len(name) <= limit else name[:limit - 1] + "…")


def _hover(x_name: str, y_name: str, trace: str = "") -> dict:
    """Scatter arguments for a hover label that names the trace (a class) and the axes in full."""
    # The trace goes in the body, wrapped like the rest: in the side box it ran past the chart's edge.
    first = "%{meta[2]}<br>" if trace else ""
    return {"meta": [_wrapped(x_name), _wrapped(y_name), _wrapped(trace)],
            "hovertemplate": first + "%{meta[0]}: %{x}<br>%{meta[1]}: %{y}<extra></extra>"}


def _wrapped(name: str) -> str:
    """A name whole, tags shown as typed, in lines of at most ``HOVER_LINE`` characters (one line ran off the chart)."""
    lines = textwrap.wrap(name, HOVER_LINE, drop_whitespace=False) or [name]
    return "<br>".join(plotly_safe(line) for line in lines)


MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 64


def image_shape(dataset: TabularDataset) -> Shape | None:
    """The picture a row could be: 1×28×28 for 784 features (MNIST), 3×32×32 for 3,072 (CIFAR-10); else None."""
    return picture_shape(dataset.n_features, MIN_IMAGE_SIDE, MAX_IMAGE_SIDE)


def image_caption(dataset: TabularDataset) -> str | None:
    """Why the rows are drawn as pictures, how they are stored, and the Unflatten a CNN needs to read them."""
    image = image_shape(dataset)
    if image is None:
        return None
    preset = (": the Models page's \"Small CNN on pixel rows\" starts with one" if image == (1, 28, 28) else
              f" (the Models page's \"Small CNN on pixel rows\" is for 1×28×28: set its input shape to "
              f"{dataset.n_features:,} and switch Auto-fit on, which sets its Unflatten and first Conv2d)")
    stored = ("row by row, as an MNIST CSV does" if image[0] == 1 else
              "as the red plane, then the green, then the blue, each row by row, as CIFAR-10 does (a CSV that "
              "keeps r, g, b together per pixel draws as a tangle of three-tone tiles)")
    outputs = "" if dataset.n_targets == 10 else (
        f" Its last Linear gives 10 outputs, one per digit: set its out_features to {dataset.n_targets:,} for this "
        f"data's {f'{len(dataset.classes):,} classes' if dataset.classes else plural(dataset.n_targets, 'target')}.")
    return (f"{dataset.n_features:,} features = {spaced(image)}, so each row may be "
            f"{picture_words(image)}, stored {stored}. A CNN reads it after "
            f"`nn.Unflatten(1, ({', '.join(map(str, image))}))`{preset}.{outputs}")


def pixel_scale_note(dataset: TabularDataset, on_training_page: bool = False) -> str | None:
    """For picture rows of values far beyond 0–1 (MNIST's 0–255): why and how to scale them before training."""
    if image_shape(dataset) is None or not len(dataset):
        return None
    low, high = float(dataset.features.min()), float(dataset.features.max())
    if high - low <= 2:
        return None
    return (f"These pixels run from {low:g} to {high:g}. Inputs that large make the first layer's outputs large too, "
            "and training crawls or swings (the Small CNN on 2,000 rows of 0–255 Digits pictures, 5 epochs of Adam: "
            "57% validation accuracy raw, 99.8% standardized). Tick **Standardize features** "
            f"{'below' if on_training_page else 'on the Training page'}, or divide by "
            f"{high:g} in your own code.")


def image_grid_figure(dataset: TabularDataset, count: int = 32, per_row: int = 8) -> go.Figure | None:
    """The first ``count`` rows drawn as pictures, ``row.view(channels, side, side)`` as the model's Unflatten reads
    them (grey for one channel, red/green/blue planes for three), each titled by its class."""
    image = image_shape(dataset)
    if image is None:
        return None
    channels, side, _ = image
    rows = dataset.features[:count]
    n, gap = len(rows), max(2, side // 14)
    label_room = side // 3  # above each picture, for its label
    lines, pitch_x, pitch_y = -(-n // per_row), side + gap, side + label_room
    mosaic = np.full((lines * pitch_y, min(n, per_row) * pitch_x - gap, channels), np.nan)
    for i, row in enumerate(rows):
        top, left = (i // per_row) * pitch_y + label_room, (i % per_row) * pitch_x
        mosaic[top:top + side, left:left + side] = row.view(channels, side, side).permute(1, 2, 0).numpy()
    low, high = float(rows.min()), float(rows.max())
    high = high if high > low else low + 1
    if channels == 1:
        trace: go.Heatmap | go.Image = go.Heatmap(z=mosaic[..., 0], colorscale="gray", zmin=low, zmax=high,
                                                  showscale=False, hoverinfo="skip")
    else:  # one scale for all three planes, as a grey picture has; the gaps transparent
        rgb = np.rint(np.nan_to_num((mosaic - low) / (high - low) * 255, nan=0)).clip(0, 255)
        alpha = np.where(np.isnan(mosaic[..., :1]), 0, 1)  # Plotly's rgba alpha runs 0–1
        trace = go.Image(z=np.concatenate([rgb, alpha], axis=2).astype(np.uint8), colormodel="rgba",
                         hoverinfo="skip")
    fig = go.Figure(trace)
    classes = dataset_classes(dataset)
    if classes:
        labels = [plotly_safe(classes[k]) for k in dataset.targets[:count].argmax(1).tolist()]
    else:
        labels = [f"{v:g}" for v in dataset.targets[:count, 0].tolist()]
    for i, label in enumerate(labels):
        fig.add_annotation(x=(i % per_row) * pitch_x + side / 2 - 0.5,
                           y=(i // per_row) * pitch_y + label_room - 0.5,
                           text=label, showarrow=False, yanchor="bottom", font={"size": 12})
    fig.update_layout(
        title=f"Rows 0–{n - 1} drawn as {side}×{side} {'colour ' if channels == 3 else ''}pictures "
              f"(features[i].view({', '.join(map(str, image))})), each labelled by its target",
        xaxis={"visible": False, "scaleanchor": "y", "constrain": "domain"},
        yaxis={"visible": False, "autorange": "reversed"},
        height=70 + lines * 125, margin={"l": 10, "r": 10, "t": 50, "b": 10}, plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig

"""Plotly layout pieces shared by the pages' figures."""

import math

# A horizontal legend at the foot of the whole figure, not of the plot area: Plotly then grows the bottom
# margin to fit it, so however many rows it wraps to it never runs over the x-axis title. (Placed in plot-area
# units, y=-0.22 say, a three-row legend shrank the plot area and climbed onto the title.)
LEGEND_BELOW = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}


def count_axis(largest: float) -> dict:
    """A y axis of whole counts: ticks 1 apart when the counts are small, where Plotly would put 0.5s."""
    return {"title": "count", "dtick": 1} if largest <= 8 else {"title": "count"}


def log_ticks(low: float, high: float) -> list[float]:
    """Readable tick values for a log axis over positive [low, high]: 1-2-5 steps, or every few powers of ten
    over many decades, or finer steps (1, 1.5, 2, 3, 5, 7) when a narrow range would get one label or none.

    Plotly's own log ticks label the 2s and 5s with bare digits ("2" above "10" reads as 2, not 20).
    """
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last - first > 3:
        stride = max(1, -(-(last - first) // 7))  # at most about 8 labels
        ticks = [10.0 ** e for e in range(first, last + 1, stride)]
    else:
        for steps in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
            ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in steps]
            if sum(low <= t <= high for t in ticks) >= 2:
                break
    inside = [t for t in ticks if low / 1.5 <= t <= high * 1.5]
    return inside if len(inside) >= 2 else ticks


def log_axis_ticks(low: float, high: float) -> dict:
    """``tickvals``/``ticktext`` for a log axis, the labels as plain numbers (0.001, 20, 5,000)."""
    ticks = log_ticks(low, high)
    return {"tickvals": ticks, "ticktext": [f"{t:,.10g}" for t in ticks]}

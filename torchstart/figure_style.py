"""Plotly layout pieces shared by the pages' figures."""

# A horizontal legend at the foot of the whole figure, not of the plot area: Plotly then grows the bottom
# margin to fit it, so however many rows it wraps to it never runs over the x-axis title. (Placed in plot-area
# units, y=-0.22 say, a three-row legend shrank the plot area and climbed onto the title.)
LEGEND_BELOW = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}


def count_axis(largest: float) -> dict:
    """A y axis of whole counts: ticks 1 apart when the counts are small, where Plotly would put 0.5s."""
    return {"title": "count", "dtick": 1} if largest <= 8 else {"title": "count"}

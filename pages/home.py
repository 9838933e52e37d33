"""Home: what the playground is, where each concept is taught, and what it runs on."""

import pandas as pd

import pages._ui  # noqa: F401  (keeps every page inside the frame; see _ensure_frame)
import streamlit as st

from torchstart.catalog import CONCEPT_PAGES
from torchstart.versions import environment_rows

st.title("torchstart")
st.markdown(
    "An interactive playground for learning **PyTorch** by touching the real thing. "
    "Every tensor, gradient, model and loss on these pages is computed by real `torch` code in "
    "this session, and every page has a **Show code** panel with the PyTorch code that produced "
    "what you see, so you can copy it into a notebook and get the same numbers."
)

st.subheader("Where each concept lives")
st.markdown(
    "New to PyTorch? Go down the list: each page builds on the ones above it. **Data** and **Models** feed "
    "**Training** (pick \"Dataset from the Data page\" and \"Model from the Models page\" there), and the "
    "model you train goes on to **Checkpoints**. **Optimizers** "
    "races on its own landscapes (or a one-feature dataset from the Data page), and **Device** stands alone."
)
for info in CONCEPT_PAGES:
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.page_link(info.script, label=info.title, icon=info.icon)
    right.markdown(f"**{' · '.join(info.concepts)}** — {info.summary}")

st.subheader("What this session runs on")
st.dataframe(pd.DataFrame(environment_rows(), columns=["", "version / device"]),
             hide_index=True, width="content")

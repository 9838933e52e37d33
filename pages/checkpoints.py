"""Checkpoints page: save a state_dict, load a .pth through four safety checks, look inside, predict."""

import streamlit as st

from pages import _checkpoint_predict_ui as predict_ui
from pages import _checkpoints_ui as ui
from torchstart.wording import md_safe

st.title("Checkpoints")
st.markdown(
    "A `.pth` file is how a trained model leaves Python: `torch.save` writes a zip archive holding a "
    "pickle plus the raw tensor bytes. Pickles can name any Python function, so a file from someone "
    "else is loaded here only after four checks, with `weights_only=True`."
)

st.header("1. Save a model", divider="gray")
ui.save_section()

st.header("2. Load a .pth safely", divider="gray")
checkpoint = ui.load_section()

if checkpoint is not None:
    st.header(f"3. Inside {md_safe(checkpoint.name)}", divider="gray")  # the uploader's own file name
    part = ui.inspect_section(checkpoint)
    if part is not None:
        st.header("4. Load it into a model and predict", divider="gray")
        predict_ui.predict_section(checkpoint, part)

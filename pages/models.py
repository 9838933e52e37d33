"""Models page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Models")
coming_soon("the nn.Module builder.")

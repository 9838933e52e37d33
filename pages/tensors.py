"""Tensors page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Tensors")
coming_soon("the tensor builder.")

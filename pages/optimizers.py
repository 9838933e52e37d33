"""Optimizers page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Optimizers")
coming_soon("optimizers racing across loss landscapes.")

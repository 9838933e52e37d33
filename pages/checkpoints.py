"""Checkpoints page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Checkpoints")
coming_soon("safe .pth loading and inspection.")

"""Autograd page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Autograd")
coming_soon("the autograd graph explorer.")

"""Data page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Data")
coming_soon("CSV datasets and the DataLoader batch viewer.")

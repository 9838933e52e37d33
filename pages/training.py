"""Training page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Training")
coming_soon("live training with download of the .pth.")

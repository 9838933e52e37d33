"""Device page."""

import streamlit as st

from pages._ui import coming_soon

st.title("Device")
coming_soon("the device report and matmul benchmark.")

"""torchstart: the frame. Page config, the shared sidebar, and navigation; pages do the rest."""

import streamlit as st

from pages._ui import device_picker
from pages._upload_store import sweep_dropped_sessions
from torchstart.catalog import ALL_PAGES, HOME
from torchstart.fair_share import interactive_run
from torchstart.optimizers import warm_up as warm_up_optimizers

st.set_page_config(page_title="torchstart: learn PyTorch by touching it", page_icon=":fire:", layout="wide")

pages = [
    st.Page(info.script, title=info.title, icon=info.icon, url_path=info.url_path or None,
            default=info is HOME)
    for info in ALL_PAGES
]
current = st.navigation(pages, position="sidebar", expanded=True)

with st.sidebar:
    device_picker()
    st.caption("Every number on these pages is computed by real PyTorch in this session, except the examples "
               "marked as such on the Device page (what a GPU machine would show).")

# Counted so that other sessions' long loops (training, benchmarks) give way to this run.
with interactive_run():
    current.run()

# Once per process, after the page is drawn: torch.optim's ~2 s first-use set-up, paid while the
# learner reads rather than on their first visit to Training or Optimizers.
warm_up_optimizers()
# At most once a minute: free the uploads of sessions Streamlit dropped without shutting them down.
sweep_dropped_sessions()

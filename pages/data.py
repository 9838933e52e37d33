"""Data: a CSV (or a built-in set) becomes a torch Dataset, and a real DataLoader batches it in front of you."""

import streamlit as st

from pages import _data_ui as ui
from pages import _data_loader_ui as loader_ui
from pages import _data_upload_ui as upload_ui
from pages._ui import KEEP, show_code, show_error
from torchstart import data_code, session
from torchstart.batch_viewer import view_batches
from torchstart.data_figures import (batch_grid_figure, dataset_figure, image_caption, image_grid_figure,
                                     pixel_scale_note)
from torchstart.errors import TorchstartError

st.title("Data")
st.markdown(
    "PyTorch feeds a model through two objects. A **`Dataset`** answers `len(dataset)` and `dataset[i]` "
    "(one sample: its features and target as tensors). A **`DataLoader`** walks over a dataset in "
    "**batches**, reshuffling every epoch if asked. Pick or upload data below, turn it into a Dataset, "
    "then watch a real DataLoader batch it. The Training page trains on it when you pick \"Dataset from the "
    "Data page\" there; with one feature and one target, the Optimizers page offers its loss landscape too."
)

# ------------------------------------------------------------------ choose
st.header("1 · Choose the data")
source = st.radio("Source", [ui.BUILTIN, ui.UPLOAD], key=ui.K_SOURCE, persist_state=KEEP, horizontal=True,
                  label_visibility="collapsed")
candidate = ui.builtin_candidate() if source == ui.BUILTIN else upload_ui.upload_candidate()
if candidate is not None:
    ui.apply(candidate)
    prep = st.session_state.get(ui.K_PREP)
    if st.session_state.get(ui.K_APPLIED) == candidate.key and prep is not None:
        ui.prep_summary(prep)

dataset = st.session_state.get(session.DATASET)
if dataset is None:
    st.stop()

# ------------------------------------------------------------------ dataset
st.header("2 · The Dataset")
st.caption("This is the dataset of this session: the Training page trains on it (Data → \"Dataset from the Data "
           "page\"), and the Optimizers page races on it when it has one feature and one target. It lives in "
           "your browser session only.")
ui.show_dataset(dataset)
figure = dataset_figure(dataset)
if figure is not None:
    st.plotly_chart(figure, key="data.scatter")
pictures = image_grid_figure(dataset)
if pictures is not None:
    st.caption(image_caption(dataset))
    st.plotly_chart(pictures, key="data.pictures")
    if note := pixel_scale_note(dataset):
        st.info(note, icon=":material/tune:")
code = st.session_state.get(ui.K_CODE, "")
show_code(code, label="Show code: the Dataset")

# ------------------------------------------------------------------ loader
st.header("3 · The DataLoader's batches")
st.markdown(
    "`DataLoader(dataset, batch_size, shuffle, drop_last, generator)` cuts each epoch into batches. The "
    "batches below come from a real DataLoader with these settings, its generator seeded once before "
    "epoch 0, so epoch *k* is what a training loop sees in its *k*-th pass."
)
st.caption("These loader settings are this page's own: the Training page has its own batch size, shuffle and seed "
           "(tab \"Epochs, batches, seed\"). Epochs count from 0 here, as `for epoch in range(n)` does; the "
           "Training page's log prints `epoch + 1`, so its Epoch 1 is epoch 0 here.")
settings = loader_ui.loader_controls()
view_key = (st.session_state.get(ui.K_VERSION), settings)
cached = st.session_state.get(ui.K_VIEW)
view = None
# Kept with the dataset object itself: a dataset set by anything but this page's widgets gets fresh batches too.
if cached is not None and cached[0] == view_key and cached[2] is dataset:
    view = cached[1]
else:
    try:
        view = view_batches(dataset, settings)
        st.session_state[ui.K_VIEW] = (view_key, view, dataset)
    except TorchstartError as err:
        show_error(err)

if view is not None:
    loader_ui.batch_overview(view)
    st.subheader(f"Every batch of epoch {settings.epoch}")
    loader_ui.batch_tables(view, dataset)
    loader_ui.print_batch(view, dataset)
    st.subheader("Which batch each sample lands in, epoch by epoch")
    st.caption("Each cell is one sample in one epoch, coloured by the batch that carried it. With shuffle the "
               "pattern changes every epoch; without it every epoch is the same.")
    st.plotly_chart(batch_grid_figure(view.grid, view.n_samples), key="data.grid")
    show_code(code + "\n\n" + data_code.loader_code(settings, len(dataset)),
              label="Show code: the DataLoader and the loop")

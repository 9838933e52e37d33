"""Device: what hardware PyTorch sees, how tensors and models move between devices, and what a GPU buys."""

import streamlit as st

from pages import _device_ui as ui
from pages._ui import TorchstartError, current_device, show_code, show_error
from torchstart import device_code, matmul_bench as mb
from torchstart.device_moves import demonstrate_moves, provoke_mismatch
from torchstart.device_report import collect_report
from torchstart.devices import available_devices

st.title("Device")
st.markdown(
    "Where a tensor lives decides what computes on it. Below: what this PyTorch install can see, "
    "how tensors and models move between devices with `.to(device)`, and a matrix-multiply "
    "benchmark you run to see what each device is worth."
)

# ------------------------------------------------------------------ report
st.header("What this PyTorch sees")
report = collect_report()
ui.report_tables(report)
with st.expander("`torch.__config__.show()`: how this PyTorch was built"):
    st.code(report.config, language="text")
show_code(device_code.report_code(), label="Show code: the report")

# ------------------------------------------------------------------ moves
st.header("The device idiom")
st.markdown(
    "Write device-agnostic code: pick the device once, then move data **and** model there.\n"
    "```python\ndevice = torch.device(\"cuda\" if torch.cuda.is_available() else \"cpu\")\n"
    "x = x.to(device)       # tensors: .to() returns a moved copy\n"
    "model.to(device)       # modules: parameters move in place\n```"
)
device = current_device()
st.markdown(f"Live, with the device picked in the sidebar: **`{device}`**.")
moves = demonstrate_moves(device)
ui.move_table(moves)
if moves.same_object:
    st.caption("`x.to(device)` returned the very same tensor: it already lived there, so no copy was "
               "made. Moving to another device, e.g. `x.to(\"cuda\")`, gives a new tensor there "
               "(`is_cuda` True) and leaves `x` where it was.")
st.subheader("Mixing devices")
ui.mismatch_panel(provoke_mismatch(device))
show_code(device_code.moves_code(str(device)), label="Show code: the moves")

# ------------------------------------------------------------------ benchmark
st.header("Matmul benchmark")
st.markdown(
    "Times `a @ b` for square matrices: untimed warm-up runs first, then the **median** of the timed "
    "runs. A matmul of size n does 2·n³ floating-point operations, so GFLOP/s = 2·n³ / time / 10⁹. "
    "GPU kernels run asynchronously, so each timed run is wrapped in `torch.cuda.synchronize()`: at small "
    "sizes a GPU run then measures launch and synchronisation latency more than arithmetic."
)
if len(available_devices()) == 1:
    st.caption(f"CPU only here, using {report.cpu_threads} threads. With a GPU, bfloat16/float16 are "
               "offered too and a second chart shows the GPU's speed-up over the CPU at each size.")
st.caption(mb.float32_precision_note(report.float32_matmul_precision))
settings = ui.bench_controls()
try:
    cases = mb.plan_cases(settings.sizes, settings.devices, settings.dtypes)
except TorchstartError as err:
    show_error(err)
    cases = []
estimate = st.empty()
if cases:
    ui.show_estimate(estimate, cases, settings)

if st.button("Run benchmark", key="device_run", type="primary", disabled=not cases,
             icon=":material/play_arrow:"):
    ui.run_live(cases, settings)
    # Redrawn from the rates just measured, so the estimate above agrees with the run below.
    ui.show_estimate(estimate, cases, settings)

result = st.session_state.get(ui.RESULT)
if result is not None:
    ui.bench_results(result)
elif cases:
    show_code(device_code.benchmark_code(settings.sizes, settings.devices, settings.dtypes,
                                         settings.warmup, settings.repeats),
              label="Show code: this benchmark")

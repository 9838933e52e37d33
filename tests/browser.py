"""Helpers for browser tests: open a page, wait for Streamlit's script run, check for exceptions."""

from __future__ import annotations

try:
    from playwright.sync_api import Locator, Page, expect
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ModuleNotFoundError:
    # A machine without Playwright (a CUDA box running .ci/gpu-check, say) can still collect every
    # test module: the `browser` fixture then skips the browser tests (and fails them in CI).
    Page = Locator = object  # type: ignore[assignment,misc]
    expect = None  # type: ignore[assignment]
    PlaywrightTimeout = TimeoutError  # type: ignore[assignment,misc]

APP = '[data-testid="stApp"]'
IDLE = f'{APP}[data-test-script-state="notRunning"]'
CONNECTED = f'{APP}[data-test-connection-state="CONNECTED"]'
STATUS = '[data-testid="stStatusWidget"]'


def wait_for_run(page: Page, timeout: float = 60_000, settle_ms: int = 300) -> None:
    """Wait until the app is connected and its script run has finished, then check for errors."""
    page.wait_for_timeout(settle_ms)  # let a rerun triggered by the last action start
    page.wait_for_selector(CONNECTED, state="attached", timeout=timeout)
    page.wait_for_selector(IDLE, state="attached", timeout=timeout)
    # The status widget ("Running...", Stop) stays until every run, reruns included, is over.
    page.wait_for_selector(STATUS, state="detached", timeout=timeout)
    assert_no_exception(page)


# A widget change only sends a message: the app's script state stays "notRunning" until the server
# answers, which on a loaded machine can take longer than wait_for_run's settle. So an action that
# reruns the page is watched: any change of the state after it proves its rerun has started.
_WATCH_RUNS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__torchstartRuns?.disconnect();
  window.__torchstartRunStarted = false;
  window.__torchstartRuns = new MutationObserver(() => { window.__torchstartRunStarted = true; });
  window.__torchstartRuns.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""


def watch_runs(page: Page) -> None:
    """Start noting script-state changes, so wait_for_started_run can tell that a rerun began."""
    page.evaluate(_WATCH_RUNS)


def wait_for_started_run(page: Page, timeout: float = 60_000, start_ms: float = 10_000) -> None:
    """After watch_runs and an action: wait for the rerun to start (if one comes), then to finish."""
    try:
        page.wait_for_function("() => window.__torchstartRunStarted", timeout=start_ms)
    except PlaywrightTimeout:
        pass  # no rerun came (the value did not change): the finished-run wait still holds
    wait_for_run(page, timeout)


def rerun_after(page: Page, action, timeout: float = 60_000) -> None:
    """Do ``action`` (a widget change) and wait for the rerun it causes to start and then to finish."""
    wait_for_run(page, timeout, settle_ms=0)
    watch_runs(page)
    action()
    wait_for_started_run(page, timeout)


# True when some part of the element cuts its text (an ellipsis or a clipped overflow): scrollWidth > clientWidth.
CUT_TEXT_JS = ("el => [el, ...el.querySelectorAll('*')]"
               ".some(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)")


def assert_no_exception(page: Page) -> None:
    """Fail with the traceback text if Streamlit shows any exception element."""
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        raise AssertionError(f"page shows an exception: {errors.first.inner_text()[:2000]}")


def open_app(page: Page, path: str = "") -> None:
    """Go to a page of the app by its url_path and wait for it to finish running."""
    page.goto(f"{page.base_url}/{path}")  # type: ignore[attr-defined]
    # The frame's sidebar widget proves app.py ran (not just that no script is running yet).
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Compute device", timeout=60_000)
    wait_for_run(page)
    expect(page.locator('[data-testid="stMain"]')).to_be_visible()


def main_text(page: Page) -> str:
    """All visible text of the main area."""
    return page.locator('[data-testid="stMain"]').inner_text()


def streamlit_stop(page: Page) -> None:
    """Click Streamlit's own Stop in the header (not a page's button), as a learner might while work runs."""
    page.locator(STATUS).get_by_role("button", name="Stop").click()
    wait_for_run(page)


def rerun_until(page: Page, text: str, tries: int = 30) -> None:
    """Press Streamlit's rerun key until ``text`` is on the page (after a Stop the server may still be busy)."""
    for _ in range(tries):
        page.locator("body").press("r")
        wait_for_run(page)
        if text in main_text(page):
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{text!r} never appeared: {main_text(page)[-1500:]}")

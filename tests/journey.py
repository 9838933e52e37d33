"""Steps a learner takes across pages in one browser session, shared by the journey and isolation tests."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.browser import Page, PlaywrightTimeout, expect, open_app, wait_for_run


def write_csv(path: Path, rows: int = 40) -> Path:
    """A small CSV whose target is exactly linear: price = 2·size − age + 1."""
    lines = ["size,age,price"] + [f"{i % 7},{i % 5},{2 * (i % 7) - (i % 5) + 1}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def go(page: Page, title: str) -> None:
    """Move to another page through the sidebar: the same session (a new URL would start a new one)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.locator('[data-testid="stMain"] h1').first).to_contain_text(title)
    wait_for_run(page)


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the visible selectbox labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]:visible').filter(
        has=page.get_by_text(label, exact=True)).first
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a rerun that lands while the list is open closes it: open it again
        box.click()
        try:
            wanted.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            wait_for_run(page)
    wanted.click()
    wait_for_run(page)


def fill(page: Page, label: str, value: str) -> None:
    """Type into the visible input labelled ``label`` and submit it."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_for_run(page)


def upload_csv(page: Page, csv_path: Path, target: str | None = None) -> None:
    """Data page: upload a CSV through the real uploader and pick the target column (if given)."""
    open_app(page, "data")
    page.get_by_text("Upload a CSV").click()
    wait_for_run(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv_path))
    wait_for_run(page)
    page.get_by_text("Rows kept").wait_for()
    if target is not None:
        choose(page, "Target column (what to predict)", target)


def table_numbers(page: Page, *headers: str, starts_with: list[float] | None = None,
                  then: list[float] | None = None, timeout_s: float = 30.0) -> list[float]:
    """Numeric cells of the first ``st.dataframe`` whose column headers include all ``headers``.

    The grid draws on a canvas; its accessible table copy exists once it is scrolled into view
    and may lag a redraw, so with ``starts_with`` this polls until the first cells are those, and with
    ``then`` until the cells after the first one are (a prediction table pins its answer first).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        numbers = _find_table(page, set(headers))
        if numbers is not None and (starts_with is None or numbers[:len(starts_with)] == starts_with) and (
                then is None or numbers[1:1 + len(then)] == then):
            return numbers
        if time.monotonic() > deadline:
            raise AssertionError(f"no table with columns {headers} starting {starts_with} then {then}: {numbers}")
        page.wait_for_timeout(250)


def _find_table(page: Page, headers: set[str]) -> list[float] | None:
    """The numeric cells of the first data frame having those headers, or None."""
    frames = page.get_by_test_id("stDataFrame")
    for i in range(frames.count()):
        frame = frames.nth(i)
        frame.scroll_into_view_if_needed()
        frame.locator("table").first.wait_for(state="attached")
        if headers <= {h.strip() for h in frame.locator("th").all_text_contents()}:
            numbers = []
            for cell in frame.locator("td").all_text_contents():
                try:
                    numbers.append(float(cell.replace(",", "")))
                except ValueError:
                    pass
            return numbers
    return None


def logged_losses(page: Page) -> list[float]:
    """The losses of the page's ``Epoch [k/N], Loss: x`` log, in order."""
    # text_content, not inner_text: the log sits in an expander that is collapsed for long runs.
    text = page.get_by_test_id("stMain").text_content() or ""
    return [float(x) for x in re.findall(r"Epoch \[\d+/\d+\], Loss: ([-\d.eE+naif]+)", text)]

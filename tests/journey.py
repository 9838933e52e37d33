"""Steps a learner takes across pages in one browser session, shared by the journey and isolation tests."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

from tests.browser import (Locator, Page, PlaywrightTimeout, expect, open_app, rerun_after, wait_for_run,
                           wait_for_started_run, watch_runs)


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
    if box.locator("input").input_value() == option:
        return  # already chosen: picking it again would not rerun the page
    # Typing filters the list: a long list draws only the options in view.
    pick(page, box, page.get_by_role("option", name=option, exact=True), search=option)


def pick(page: Page, opener: Locator, option: Locator, search: str = "", tries: int = 3) -> None:
    """Open a list with ``opener`` (typing ``search``), click ``option`` and wait for the rerun.

    A rerun that lands while the list is open closes it: then the list is opened again.
    """
    for _ in range(tries):
        wait_for_run(page, settle_ms=0)
        opener.click()
        if search:  # replace, not append to, a filter an earlier try left in the box
            page.keyboard.press("ControlOrMeta+A")
            page.keyboard.type(search)
        try:
            option.wait_for(timeout=5_000)
            watch_runs(page)
            option.click(timeout=5_000)
        except PlaywrightTimeout:
            continue  # a rerun that landed while the list was open closed it
        wait_for_started_run(page)
        return
    raise AssertionError(f"{option} never appeared in the list after {tries} tries")


def fill(page: Page, label: str, value: str) -> None:
    """Type into the visible input labelled ``label`` and submit it."""
    box = page.get_by_label(label, exact=True)
    wait_for_run(page, settle_ms=0)  # a rerun landing between fill and Enter could redraw the box
    if box.input_value() == value:
        return  # unchanged: submitting it would not rerun the page

    def submit() -> None:
        box.fill(value)
        box.press("Enter")

    rerun_after(page, submit)


def upload_csv(page: Page, csv_path: Path, target: str | None = None) -> None:
    """Data page: upload a CSV through the real uploader and pick the target column (if given)."""
    open_app(page, "data")
    rerun_after(page, page.get_by_text("Upload a CSV").click)
    rerun_after(page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv_path)))
    page.get_by_text("Rows kept").wait_for()
    wait_for_run(page)  # "Rows kept" shows part-way through the run that reads the file
    if target is not None:
        choose(page, "Target column (what to predict)", target)


def table_numbers(page: Page, *headers: str, starts_with: list[float] | None = None,
                  then: list[float] | None = None, until: Callable[[list[float]], bool] | None = None,
                  timeout_s: float = 30.0) -> list[float]:
    """Numeric cells of the first ``st.dataframe`` whose column headers include all ``headers``.

    The grid draws on a canvas; its accessible table copy exists once it is scrolled into view
    and may lag a redraw, so with ``starts_with`` this polls until the first cells are those, with
    ``then`` until the cells after the first one are (a prediction table pins its answer first), and
    with ``until`` until it holds for the cells.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        numbers = _find_table(page, set(headers))
        if numbers is not None and (starts_with is None or numbers[:len(starts_with)] == starts_with) and (
                then is None or numbers[1:1 + len(then)] == then) and (until is None or until(numbers)):
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

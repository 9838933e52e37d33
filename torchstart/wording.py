"""Small helpers for what the pages say: readable counts, name lists and durations, and a file's own text made inert."""

from __future__ import annotations

import html
import re


def plural(count: int, word: str) -> str:
    """``1 sample``, ``3 samples``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def name_list(names: list[str], limit: int = 4, quoted: bool = True) -> str:
    """``'a', 'b', 'c'``, or the first ``limit`` names then ``… (499 in all)``: a message or label stays readable."""
    shown = ", ".join(map(repr, names[:limit]) if quoted else names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names):,} in all)"


def duration(seconds: float) -> str:
    """A time span as a person says it: "4.2 s", "3 min 20 s", "2 h 05 min"."""
    if seconds < 59.95:  # what would print as "60.0 s" reads as a minute
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600:,} h {whole % 3600 // 60:02d} min"


ZERO_WIDTH = "\u200b"  # invisible: it splits a Markdown construct without changing what the text reads
# Markdown that points at or pulls in the outside world: a link or image ("](" joins its text to its address),
# a bare web address (autolinked) or an <address> autolink. Each gets a zero-width space inside.
_MD_ACTIVE = re.compile(r"\]\(|://|www\.|<", re.IGNORECASE)
# A code span (CommonMark: a backtick run closed by a run as long) is matched whole, so the dollars inside stay.
# A dollar outside one comes with the backslashes typed right before it: "\\$" would escape the backslash and
# leave the dollar to open maths, so each of them is escaped too.
_CODE_SPAN_OR_DOLLAR = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)|\\*\$", re.DOTALL)


def uploader_reading(n_bytes: int, base: int = 1000) -> str:
    """A size as Streamlit 1.67's file chip writes it: a unit up as soon as the value passes half the base
    (600 bytes -> 0.6KB), one decimal, no space; base 1,000 (1,024 on Windows)."""
    value, units = float(n_bytes), ("B", "KB", "MB", "GB")
    unit = 0
    while unit < len(units) - 1 and value > base / 2:
        value, unit = value / base, unit + 1
    return f"{value:.1f}{units[unit]}"


def upload_size_note(n_bytes: int) -> str:
    """The exact byte count behind a file size, and why the uploader's chip may read another number."""
    return (f"{n_bytes:,} bytes. This page counts 1 KB = 1,024 bytes, as PyTorch's memory figures do. A file "
            f"that came through the uploader reads {uploader_reading(n_bytes)} on its chip: Streamlit counts "
            f"1 KB = 1,000 bytes there ({uploader_reading(n_bytes, 1024)} on Windows, where it counts 1,024).")


def md_safe(text: str) -> str:
    """``text`` for st.markdown/st.error with any link, image or web address in it made inert.

    File names, column names, cells, checkpoint keys and pickled names can carry Markdown: a link in
    an official-looking error box, or an image the browser fetches from anywhere. Backslash escapes
    would show inside the message's code spans, and which backticks pair up is Markdown's call, so a
    zero-width space goes inside each such construct wherever it stands: it reads the same. A dollar
    sign opens LaTeX in Streamlit ("cost $ a $" set "a" as maths); it is escaped outside code spans,
    where a backslash would show and no maths is read.
    """
    inert = _MD_ACTIVE.sub(lambda m: m.group(0)[:-1] + ZERO_WIDTH + m.group(0)[-1] if m.group(0) != "<"
                           else "<" + ZERO_WIDTH, text)
    return _CODE_SPAN_OR_DOLLAR.sub(_escape_dollar, inert)


def _escape_dollar(match: re.Match) -> str:
    """A code span as it stands; a dollar and the backslashes before it, each escaped, so all of them show."""
    text = match.group(0)
    return text if match.group(1) else text.replace("\\", "\\\\")[:-1] + "\\$"


def plotly_safe(text: str) -> str:
    """``text`` for a Plotly title, axis title, legend name or hover label: its HTML tags shown, not obeyed."""
    return html.escape(str(text), quote=False)


def running_counts(items: list[str]) -> list[int]:
    """How often each item has come so far, itself included: ["a", "b", "a"] -> [1, 1, 2]."""
    seen: dict[str, int] = {}
    counts = []
    for item in items:
        seen[item] = seen.get(item, 0) + 1
        counts.append(seen[item])
    return counts


def comment_safe(text: str, limit: int = 120) -> str:
    """Learner-given names made safe for a code comment or docstring: no line breaks, quotes or backslashes."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", str(text)).replace('"', "'").replace("\\", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"

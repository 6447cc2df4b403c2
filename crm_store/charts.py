"""PNG charts for reports: matplotlib (Agg) with a Simplified-Chinese font that ships in a Python package.

The font is Noto Sans CJK SC from the `noto-cjk-sans-otc` package (a project dependency), so no system
font is needed; a system CJK font is used only if that package is missing. Charts take plain figures,
not ORM rows, so they can be drawn from any service.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)
PREFERRED_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Noto Sans SC", "SimHei")
PROBE = "销售周报拜访客户"
# Figures are drawn from several threads (scheduler, web server); matplotlib's font cache is not thread-safe.
_LOCK = threading.Lock()


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _matplotlib() -> ModuleType:
    """matplotlib on the Agg backend, loaded on the first chart: every `crmbot` command imports this module,
    and matplotlib costs half a second that only report charts need."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure
    import matplotlib.font_manager
    import matplotlib.ft2font

    return matplotlib


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str]:
    """(family name, file) of a font that has Simplified Chinese glyphs; registered with matplotlib."""
    try:
        import noto_cjk_sans_otc

        path = str(noto_cjk_sans_otc.FONT_PATH)
        _matplotlib().font_manager.fontManager.addfont(path)
    except ImportError:  # fall back to what the system has
        pass
    font_manager = _matplotlib().font_manager
    for family in PREFERRED_FAMILIES:
        for entry in font_manager.fontManager.ttflist:
            if entry.name == family and not _missing(entry.fname, PROBE):
                return entry.name, entry.fname
    for entry in font_manager.fontManager.ttflist:
        if entry.fname.lower().endswith((".ttf", ".otf", ".ttc")) and not _missing(entry.fname, PROBE):
            return entry.name, entry.fname
    raise FontMissing("no font with Chinese glyphs: install the noto-cjk-sans-otc package")


def _missing(font_file: str, text: str) -> set[str]:
    try:
        font = _matplotlib().ft2font.FT2Font(font_file)
    except Exception:  # unreadable or unsupported font file
        return set(text)
    return {ch for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0}


def missing_glyphs(text: str) -> set[str]:
    """Characters of `text` the chart font cannot draw (empty means no tofu boxes)."""
    return _missing(cjk_font()[1], text)


class GlyphMissing(UserWarning):
    """A character was drawn as a box: the caller (or a test) can turn this into an error."""


@contextmanager
def _glyph_watch() -> Iterator[None]:
    """Collect matplotlib's missing-glyph warnings and re-raise them as GlyphMissing after drawing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        text = str(item.message)
        if "missing from font" in text or "Glyph" in text:
            log.warning("chart font: %s", text)
            warnings.warn(text, GlyphMissing, stacklevel=3)


def _figure(width: float, height: float) -> Figure:
    return _matplotlib().figure.Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, format="png")
    tmp.replace(path)  # readers never see a half-written file
    return path


def _style() -> dict[str, object]:
    family = cjk_font()[0]
    return {"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"], "axes.unicode_minus": False}


def render_sales_chart(
    path: Path,
    *,
    title: str,
    people: Sequence[str],
    visits: Sequence[int],
    previous_visits: Sequence[int],
    current_label: str,
    previous_label: str,
    stages: Sequence[str],
    stage_amounts_wan: Sequence[float],
    stage_counts: Sequence[int],
    visits_title: str,
    pipeline_title: str,
    amount_label: str = "",
) -> Path:
    """Left: visits per person, this period against the previous one. Right: open pipeline by stage."""
    with _LOCK, _matplotlib().rc_context(_style()), _glyph_watch():
        fig = _figure(10, 4.6)
        fig.suptitle(title, fontsize=14)
        left, right = fig.subplots(1, 2)
        x = list(range(len(people)))
        width = 0.38
        left.bar([i - width / 2 for i in x], previous_visits, width, label=previous_label, color="#b0bec5")
        bars = left.bar([i + width / 2 for i in x], visits, width, label=current_label, color="#1e88e5")
        left.bar_label(bars, padding=2)
        left.set_xticks(x, list(people))
        left.set_title(visits_title)
        left.legend()
        left.set_ylim(0, max([*visits, *previous_visits, 1]) * 1.25)
        y = list(range(len(stages)))
        hbars = right.barh(y, stage_amounts_wan, color="#43a047")
        right.bar_label(hbars, labels=[f"{a:g}万 / {c}个" for a, c in zip(stage_amounts_wan, stage_counts, strict=True)],
                        padding=3)
        right.set_yticks(y, list(stages))
        right.invert_yaxis()
        right.set_title(pipeline_title)
        right.set_xlabel(amount_label)
        right.set_xlim(0, max([*stage_amounts_wan, 1]) * 1.45)
        return _save(fig, path)


def render_bars(
    path: Path, *, title: str, labels: Sequence[str], values: Sequence[float], value_labels: Sequence[str],
    horizontal: bool = False, color: str = "#1e88e5", axis_label: str = "",
) -> Path:
    """One series of bars with a label on each (a ranking, a funnel)."""
    with _LOCK, _matplotlib().rc_context(_style()), _glyph_watch():
        fig = _figure(8, max(3.2, 0.5 * len(labels) + 1.6) if horizontal else 4.2)
        ax = fig.subplots()
        ax.set_title(title, fontsize=13)
        pos = list(range(len(labels)))
        top = max([*values, 1]) * (1.45 if horizontal else 1.25)
        if horizontal:
            bars = ax.barh(pos, values, color=color)
            ax.set_yticks(pos, list(labels))
            ax.invert_yaxis()
            ax.set_xlim(0, top)
            ax.set_xlabel(axis_label)
        else:
            bars = ax.bar(pos, values, color=color)
            ax.set_xticks(pos, list(labels))
            ax.set_ylim(0, top)
            ax.set_ylabel(axis_label)
        ax.bar_label(bars, labels=list(value_labels), padding=3)
        return _save(fig, path)


def prune(directory: Path, keep_days: int = 7) -> int:
    """Delete chart PNGs older than keep_days (they were sent long ago); the number removed."""
    import time

    cutoff = time.time() - keep_days * 86400
    removed = 0
    for file in Path(directory).glob("*.png") if Path(directory).is_dir() else []:
        try:
            if file.stat().st_mtime < cutoff:
                file.unlink()
                removed += 1
        except OSError:  # another process pruned it first
            continue
    return removed

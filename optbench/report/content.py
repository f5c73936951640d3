"""What a report says, independent of how it is written: sections of paragraphs, bullet
lists, tables (already formatted as text) and figures (matplotlib figures, rendered to PNG
on demand). :mod:`.html` and :mod:`.markdown` render the same :class:`Report`."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Figure:
    """One figure of a report: an id (also its file name), title, caption and the matplotlib
    figure, rendered to PNG bytes once, when first asked for (``png``)."""

    id: str
    title: str
    caption: str
    figure: Any  # a matplotlib.figure.Figure; matplotlib is imported only where figures are drawn

    @functools.cached_property
    def png(self) -> bytes:
        from .figures import png_bytes

        return png_bytes(self.figure)


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]
    ordered: bool = False


@dataclass
class Table:
    """A table of strings; ``numeric`` names the columns to right-align."""

    title: str
    frame: pd.DataFrame
    caption: str = ""
    numeric: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, title: str, frame: pd.DataFrame, caption: str = "", digits: int = 3) -> "Table":
        """Format every cell as text: floats to ``digits`` significant digits, inf as ``inf``."""
        numeric = tuple(c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                        and not pd.api.types.is_bool_dtype(frame[c]))
        text = pd.DataFrame({str(c): [fmt_value(v, digits) for v in frame[c]] for c in frame.columns})
        return cls(title, text, caption, tuple(map(str, numeric)))


def fmt_value(value, digits: int = 3) -> str:
    """A cell as text: ``''`` for missing, ``inf``, integers as integers, floats to ``digits``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.{digits}g}"
    return str(value)


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)


@dataclass
class Report:
    title: str
    meta: list[str]
    sections: list[Section]
    files: dict[str, str] = field(default_factory=dict)  # label -> relative path of a CSV

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

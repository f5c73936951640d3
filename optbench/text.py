"""Docstrings as terminal text: the summary line of a reStructuredText docstring, plain.

>>> plain_text("MGH problem 4: ``n = 2, m = 3``, see :func:`~optbench.run` and `Moré (1981)`_.")
'MGH problem 4: n = 2, m = 3, see run and Moré (1981).'
>>> plain_text(":math:`\\\\kappa` from :class:`the quadratic <problems.quadratics.Quadratic>`")
'\\\\kappa from the quadratic'
"""
from __future__ import annotations

import inspect
import re

_ROLE = re.compile(r":[\w:.-]+:`([^`]*)`")           # :func:`x`, :math:`x`, :py:class:`x`
_LITERAL = re.compile(r"``(.+?)``")                    # ``x``
_INTERPRETED = re.compile(r"`([^`]+)`_{0,2}")          # `x`, `x`_ (a link), `x`__


def _role_text(match: re.Match) -> str:
    text = match.group(1)
    explicit = re.fullmatch(r"(.*?)\s*<[^>]*>", text, re.S)  # :role:`title <target>`
    if explicit:
        return explicit.group(1)
    if text.startswith("~"):                                  # :func:`~a.b.c` shows c
        return text[1:].rsplit(".", 1)[-1]
    return text


def plain_text(rst: str) -> str:
    """``rst`` with its inline markup (roles, literals, interpreted text, links) unwrapped."""
    text = _ROLE.sub(_role_text, rst)
    text = _LITERAL.sub(r"\1", text)
    return _INTERPRETED.sub(r"\1", text)


def summary_line(obj) -> str:
    """The first line of ``obj``'s docstring as plain text (``""`` without a docstring)."""
    doc = (inspect.getdoc(obj) or "").strip()
    return plain_text(doc.splitlines()[0]) if doc else ""

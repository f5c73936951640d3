"""User-facing errors.

Every error a user can cause by what they type (a name, a parameter, a file) is an
:class:`OptbenchError`. The CLI prints its message without a traceback and exits with
code 2. Each message says what was wrong and what would be right.
"""
from __future__ import annotations

import difflib


class OptbenchError(Exception):
    """An error caused by the user's input; the CLI reports it and exits with code 2."""

    exit_code = 2


class UnknownNameError(OptbenchError, KeyError):
    """A problem, optimizer, suite or tag that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ConfigError(OptbenchError, ValueError):
    """An invalid parameter, hyperparameter, suite file or option value."""


class PluginError(OptbenchError):
    """A plugin file that is missing, fails to import, or clashes with a registered name."""


class StoreError(OptbenchError):
    """A results file that is not a readable optbench database."""


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
    two adjacent characters each cost 1 (``adma`` -> ``adam`` is one swap)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def did_you_mean(kind: str, name: str, known: list[str]) -> str:
    """``unknown optimizer 'adma'; did you mean 'adam'?`` with up to three suggestions.

    Candidates are difflib's close matches, nearest edit distance first (``adam`` before
    ``adamax`` and ``radam`` for ``adma``).
    """
    close = difflib.get_close_matches(name, known, n=6, cutoff=0.5)
    close = sorted(close, key=lambda c: _edit_distance(name, c))[:3]  # stable: difflib's order breaks ties
    if close:
        hint = " or ".join(repr(c) for c in close)
        return f"unknown {kind} {name!r}; did you mean {hint}?"
    shown = ", ".join(sorted(known)[:20]) + (" ..." if len(known) > 20 else "")
    return f"unknown {kind} {name!r}; known {kind}s: {shown or '(none registered)'}"

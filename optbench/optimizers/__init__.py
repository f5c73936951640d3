"""The built-in optimizers.

This package is named in optbench's own ``optbench.optimizers`` entry-point group, so the
built-ins register through the same path as any user's plugin. Each module registers one
family; :mod:`.linesearch` holds the flat-vector helpers and the Armijo line search they share.
"""
from . import first_order, matrix, quasi_newton, scipy_drivers, second_order  # noqa: F401  (importing registers them)

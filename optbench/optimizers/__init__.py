"""The built-in optimizers.

This package is named in optbench's own ``optbench.optimizers`` entry-point group, so the
built-ins register through the same path as any user's plugin. Each module registers one
family.
"""
from . import first_order, quasi_newton  # noqa: F401  (importing registers them)

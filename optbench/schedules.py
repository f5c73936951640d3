r"""Learning-rate schedules as a hyperparameter: ``adam[lr=1e-3,schedule=cosine]``.

An optimizer registered with ``schedulable=True`` (the torch.optim first-order family) has
the hyperparameter ``schedule`` (default ``"constant"``); its learning rate then follows a
:mod:`torch.optim.lr_scheduler` composition over the run's *horizon* ``T`` -- the steps its
budget allows, :attr:`optbench.runner.Budget.horizon` -- stepped after every optimizer step
(a step post-hook, so the run's loop is the same with or without a schedule). With the base
rate ``lr`` and ``t`` the steps taken so far:

``constant``       ``lr``
``cosine``         ``lr (1 + cos(pi t / T)) / 2`` (:class:`~torch.optim.lr_scheduler.CosineAnnealingLR`)
``warmup-cosine``  linear warmup from ``lr / W`` to ``lr`` over the first ``W = max(1, round(0.1 T))``
                   steps (:class:`~torch.optim.lr_scheduler.LinearLR`), then cosine to 0 over the rest
``trapezoidal``    the same warmup, constant, then linear decay to 0 over the last
                   ``D = max(1, round(0.1 T))`` steps (LinearLR, ConstantLR, LinearLR)

The compositions are :class:`~torch.optim.lr_scheduler.SequentialLR`. These are the schedule
families compared by Schmidt, Schneider & Hennig (2021) (constant, cosine decay, trapezoidal;
warmup as in AlgoPerf's baselines, Dahl et al. 2023); their horizon is the run budget, so a
schedule ends where the budget does.

References: I. Loshchilov, F. Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm
Restarts", ICLR (cosine). R. M. Schmidt, F. Schneider, P. Hennig (2021), "Descending through a
Crowded Valley", ICML.
"""
from __future__ import annotations

SCHEDULES = ("constant", "cosine", "warmup-cosine", "trapezoidal")
WARMUP_FRACTION = 0.1
DECAY_FRACTION = 0.1


def lr_scheduler(optimizer, schedule: str, horizon: int):
    """The :mod:`torch.optim.lr_scheduler` composition of ``schedule`` over ``horizon`` steps
    (``None`` for ``constant``). ``ValueError`` for an unknown schedule or too short a horizon."""
    from torch.optim import lr_scheduler as lrs

    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")
    if schedule == "constant":
        return None
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 3:
        raise ValueError(f"schedule {schedule!r} needs a horizon of at least 3 steps (max_steps or max_evals "
                         f"in the budget); got {horizon!r}")
    if schedule == "cosine":
        return lrs.CosineAnnealingLR(optimizer, T_max=horizon)
    warmup = max(1, round(WARMUP_FRACTION * horizon))
    ramp = lrs.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup)
    if schedule == "warmup-cosine":
        cosine = lrs.CosineAnnealingLR(optimizer, T_max=horizon - warmup)
        return lrs.SequentialLR(optimizer, [ramp, cosine], milestones=[warmup])
    decay = max(1, round(DECAY_FRACTION * horizon))
    plateau = lrs.ConstantLR(optimizer, factor=1.0, total_iters=horizon)
    down = lrs.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=decay)
    return lrs.SequentialLR(optimizer, [ramp, plateau, down], milestones=[warmup, horizon - decay])


def with_schedule(factory):
    """Wrap an optimizer ``factory(params, **hp)`` into ``make(params, schedule="constant",
    horizon=None, **hp)`` whose learning rate follows ``schedule`` over ``horizon`` steps.
    ``horizon=None`` (checking hyperparameters, before any run) only checks the name; the
    runner passes the budget's horizon."""
    import functools

    @functools.wraps(factory)
    def make(params, schedule: str = "constant", horizon: int | None = None, **hyperparameters):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")
        optimizer = factory(params, **hyperparameters)
        if schedule != "constant" and horizon is not None:
            scheduler = lr_scheduler(optimizer, schedule, horizon)
            optimizer.register_step_post_hook(lambda _optimizer, _args, _kwargs: scheduler.step())
        return optimizer

    return make

r"""Row-wise (batched) forms of the line-search and second-order built-ins.

``S`` seeds of one analytic job run as the rows of one ``(S, n)`` tensor ``X``
(:mod:`optbench.batched`); ``f`` maps ``(S, n) -> (S,)`` and every row follows its *own*
iteration: its own line search (trial steps, acceptance, number of evaluations), its own
curvature pairs or Hessian, its own restarts. Rows share only the calls to ``f``: each round
of a line search evaluates every row's trial point in one call, and an evaluation *counts*
only for the rows still searching (``nfev`` and ``nhev`` are per row). A row that is not
searching sits at its own point, so what it does never depends on the other rows.

Each class is a faithful port of its serial method -- the same decisions in the same order,
the same evaluation count (including the re-evaluation the serial runner pays when a step
ends away from the last point it evaluated, see :class:`RowwiseMethod`):

==============  ================================================================
``gd-armijo``   :class:`~optbench.optimizers.first_order.ArmijoGD`
``lbfgs``       ``torch.optim.LBFGS`` (``max_iter=1``, ``line_search_fn="strong_wolfe"``)
``bfgs``        :class:`~optbench.optimizers.quasi_newton.BFGS`
``newton``      :class:`~optbench.optimizers.second_order.Newton`
``newton-cg``   :class:`~optbench.optimizers.second_order.NewtonCG`
==============  ================================================================

**A row does not depend on its batch.** Every operation is elementwise or reduces along the
last axis of one row (dot products are ``(a * b).sum(-1)``, matrix-vector products
``(H * v[:, None, :]).sum(-1)``, Cholesky factorisations and solves are LAPACK calls per
matrix), the line-search logic runs per row on host floats, and no fused multiply-add is
used (``x + t * d`` is a product, then a sum: torch's vectorised ``add(alpha=)`` fuses them
or not depending on how many elements the tensor has). A seed alone and inside a batch of 64
therefore gives the same trace bit for bit, provided the problem's ``f`` and its gradient are
themselves row-independent -- true for the catalogue's landscapes except those built on a
matrix product (``quadratic``, ``mgh20-watson``: BLAS blocks ``X @ A`` differently for
different row counts, about 1e-16 relative).

**Against the serial methods** the arithmetic differs in the last bits: the serial methods
take dot products with BLAS ``dot`` (a different summation order, possibly fused), step with
``add(alpha=)``, and run ``f`` on a vector rather than a row. The decisions agree unless a
test sits within rounding of its threshold, so records agree in status, steps and ``nfev``
and in the trace to ~1e-12 relative, except on long runs that reach such a knife edge
(``benchmarks/lbfgs_vs_scipy.py --rowwise`` compares ``lbfgs`` with torch.optim.LBFGS on
the MGH set: the same status on 35 of 35 problems, median evaluations ratio 1.000). In float32
the line-search logic still runs on host float64 numbers where torch's mixes float32 tensors,
so decisions agree less often (one of three ``lbfgs`` seeds on 2-D Rosenbrock ends one step
later). Long runs without a target can also part at the underflow level: once ``f`` reaches
denormal numbers, one form may meet an exact zero gradient (and stall) a few steps before the
other.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ..problem import dense_hessian, hessian_vector_products

_NOT_SEARCHING = np.nan


def dot(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise dot product of ``(S, n)`` tensors: ``(S,)``."""
    return (a * b).sum(-1)


def matvec(H: Tensor, v: Tensor) -> Tensor:
    """Row-wise ``H_i v_i`` for ``H`` of shape ``(S, n, n)`` and ``v`` of shape ``(S, n)``."""
    return (H * v.unsqueeze(-2)).sum(-1)


def _column(values: np.ndarray, like: Tensor) -> Tensor:
    """Host per-row numbers as an ``(S, 1)`` tensor on ``like``'s device and dtype."""
    return torch.as_tensor(values, dtype=torch.float64).to(device=like.device, dtype=like.dtype).unsqueeze(-1)


class RowwiseMethod:
    """State shared by the row-wise methods: the rows' points, values, gradients and counts.

    ``f(X)`` maps ``(S, n)`` to ``(S,)``. The constructor evaluates the start (one evaluation
    per row). After each :meth:`step`, row ``i`` sits at ``x[i]`` with value ``fx[i]`` and
    gradient ``g[i]``, known after ``nfev[i]`` evaluations and ``nhev[i]`` Hessian(-vector)
    evaluations.

    The serial methods run under the runner's evaluation cache, which serves an evaluation
    again, uncounted, at the point evaluated *last*; so does :meth:`_evaluate`, row by row (a
    trial step too short to move ``x`` costs nothing). When a step ends elsewhere (a line
    search that returns an earlier trial, or gives up and restores the start), the serial
    runner pays one evaluation at the start of the next step; a row-wise method pays it at the
    end of the step (``refreshed[i]`` is then true: the runner's budget test, made before that
    evaluation, subtracts it).
    """

    def __init__(self, f, x0: Tensor):
        self.f = f
        self.x = x0.detach().clone()
        self.rows = x0.shape[0]
        self.nfev = np.zeros(self.rows, dtype=np.int64)
        self.nhev = np.zeros(self.rows, dtype=np.int64)
        self.refreshed = np.zeros(self.rows, dtype=bool)
        self.last_point = torch.full_like(self.x, math.nan)  # each row's last evaluated point
        self.last_value: Tensor | None = None  # and f there
        self.fx, self.g = self._evaluate(self.x, np.ones(self.rows, dtype=bool))
        self.f_host = self._host(self.fx)

    def _evaluate(self, X: Tensor, rows: np.ndarray, gradient: bool = True) -> tuple[Tensor, Tensor | None]:
        """``f`` and (unless ``gradient`` is false: ``None``) its gradient at every row of ``X``; one
        evaluation for each row of ``rows`` whose point differs from the last one it evaluated
        (the runner's cache rule).

        Without the gradient, when every row of ``rows`` sits at its last evaluated point (a
        backtracking step too short to move it), ``f`` is not called: those rows get their last
        values, as the serial runner's cache serves them (the other rows' values are then not
        those of their points; callers read only the rows they asked for)."""
        new = rows & ~self._host(X.eq(self.last_point).all(-1)).astype(bool)
        if not gradient and not new.any():
            return self.last_value, None
        if gradient:
            F, G = self._value_and_gradient(X)
        else:  # the same forward operations on the same numbers: the same values bit for bit
            with torch.no_grad():
                F = self.f(X)
            G = None
        if F.shape != (self.rows,):
            raise ValueError(f"f returned shape {tuple(F.shape)} for {self.rows} points; expected ({self.rows},)")
        mask = torch.as_tensor(rows, device=X.device)
        self.last_point = torch.where(mask.unsqueeze(-1), X, self.last_point)
        self.last_value = F if self.last_value is None else torch.where(mask, F, self.last_value)
        self.nfev += new
        return F, G

    def _value_and_gradient(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """``f`` (detached) and its gradient at every row of ``X``, uncounted. Alone, it is the
        gradient of an evaluation already counted whose trial was taken without one (the same
        operations: the same numbers)."""
        with torch.enable_grad():
            Xg = X.detach().requires_grad_(True)
            F = self.f(Xg)
            (G,) = torch.autograd.grad(F.sum(), Xg, allow_unused=True)
        return F.detach(), torch.zeros_like(X) if G is None else G

    @staticmethod
    def _host(t: Tensor) -> np.ndarray:
        return t.detach().cpu().double().numpy()

    def moving(self, active: np.ndarray) -> np.ndarray:
        """The active rows with a finite value (a row at NaN/Inf has diverged: it stays put)."""
        return active & np.isfinite(self.f_host)

    def step(self, active: np.ndarray) -> None:
        """One iteration of every ``active`` row; the other rows do not move and spend nothing."""
        raise NotImplementedError

    def _accept(self, rows: np.ndarray, t: np.ndarray, d: Tensor, f_new: Tensor, g_new: Tensor) -> None:
        """Move ``rows`` to ``x + t d`` with the value and gradient found there; re-evaluate the rows
        whose accepted step is not the last one they evaluated (see the class docstring)."""
        self.refreshed[:] = False
        if not rows.any():
            return
        mask = torch.as_tensor(rows, device=self.x.device)
        self.x = torch.where(mask.unsqueeze(-1), self.x + _column(np.where(rows, t, 0.0), self.x) * d, self.x)
        self.fx = torch.where(mask, f_new, self.fx)
        self.g = torch.where(mask.unsqueeze(-1), g_new, self.g)
        stale = rows & ~self._host(self.x.eq(self.last_point).all(-1)).astype(bool)
        if stale.any():
            self._refresh(stale)
        self.f_host = self._host(self.fx)

    def _refresh(self, stale: np.ndarray) -> None:
        before = self.nfev.copy()
        F, G = self._evaluate(self.x, stale)
        self.refreshed |= self.nfev > before
        mask = torch.as_tensor(stale, device=self.x.device)
        self.fx = torch.where(mask, F, self.fx)
        self.g = torch.where(mask.unsqueeze(-1), G, self.g)

    # -- line searches ------------------------------------------------------------------
    def _trial_point(self, searching: np.ndarray, t: np.ndarray, d: Tensor) -> Tensor:
        """``x + t d`` on the searching rows, ``x`` on the others (the arithmetic of :meth:`_accept`)."""
        mask = torch.as_tensor(searching, device=self.x.device).unsqueeze(-1)
        return torch.where(mask, self.x + _column(np.where(searching, t, 0.0), self.x) * d, self.x)

    def _trial(self, searching: np.ndarray, t: np.ndarray, d: Tensor,
               gradient: bool = True) -> tuple[Tensor, Tensor | None]:
        """Evaluate ``x + t d`` on the searching rows (the others evaluate their own point, uncounted)."""
        return self._evaluate(self._trial_point(searching, t, d), searching, gradient)

    def _armijo(self, rows: np.ndarray, d: Tensor, gtd: np.ndarray, t0: np.ndarray, c: float, shrink: float,
                max_backtracks: int) -> np.ndarray:
        """Backtracking Armijo on every row of ``rows`` (:func:`~optbench.optimizers.linesearch.armijo`).

        Row ``i`` tries ``t0_i, shrink t0_i, ...`` (at most ``max_backtracks + 1`` trials) until
        ``f(x + t d) <= f(x) + c t gtd``. Moves the rows that succeed; the others stay (and pay
        the serial runner's re-evaluation). Returns the accepted steps, NaN where none was.

        Only the first trial takes the gradient with the value: a backtracking trial needs ``f``
        alone, and most are rejected (a row stuck where rounding hides any decrease spends all
        ``max_backtracks + 1``). Rows accepted after a backtrack get their gradient from one
        uncounted backward pass at the accepted points -- the serial method's closure computed
        it with that evaluation, and the numbers are the same.
        """
        t = np.where(rows, t0, _NOT_SEARCHING)
        searching = rows.copy()
        accepted = np.full(self.rows, np.nan)
        late = np.zeros(self.rows, dtype=bool)  # accepted at a trial evaluated without its gradient
        f0 = self.f_host
        f_new, g_new = self.fx, self.g
        for trial in range(max_backtracks + 1):
            if not searching.any():
                break
            F, G = self._trial(searching, t, d, gradient=trial == 0)
            values = self._host(F)
            ok = searching & (values <= f0 + c * t * gtd)
            if ok.any():
                keep = torch.as_tensor(ok, device=self.x.device)
                f_new = torch.where(keep, F, f_new)
                if G is None:
                    late |= ok
                else:
                    g_new = torch.where(keep.unsqueeze(-1), G, g_new)
                accepted[ok] = t[ok]
                searching &= ~ok
            t = np.where(searching, t * shrink, t)
        if late.any():
            _, G = self._value_and_gradient(self._trial_point(late, accepted, d))
            g_new = torch.where(torch.as_tensor(late, device=self.x.device).unsqueeze(-1), G, g_new)
        moved = rows & ~np.isnan(accepted)
        failed = rows & np.isnan(accepted)
        self._accept(moved, accepted, d, f_new, g_new)
        if failed.any():  # every trial failed: back at x, which the serial runner evaluates again
            self._refresh(failed)
            self.f_host = self._host(self.fx)
        return accepted

    def _strong_wolfe(self, rows: np.ndarray, d: Tensor, gtd: np.ndarray, t0: np.ndarray, c1: float, c2: float,
                      tolerance_change: float, max_ls: int) -> tuple[np.ndarray, Tensor]:
        """torch.optim.LBFGS's strong-Wolfe search on every row of ``rows``; moves them.

        Each row runs :func:`strong_wolfe` (a generator: it yields trial steps and receives
        ``(f, g^T d, gradient)``); a round evaluates every searching row's trial at once.
        Returns the accepted steps (``NaN`` for rows not searched) and the start gradients
        ``g`` (the caller's curvature pair needs them).
        """
        g_start = self.g
        d_norm = self._host(d.abs().amax(-1))
        searches = {}
        t = np.full(self.rows, _NOT_SEARCHING)
        for i in np.flatnonzero(rows):
            search = strong_wolfe(float(self.f_host[i]), float(gtd[i]), float(t0[i]), float(d_norm[i]), c1, c2,
                                  tolerance_change, max_ls)
            t[i] = next(search)
            searches[i] = search
        results: dict[int, tuple] = {}
        rounds: list[Tensor] = [g_start]  # gradient tensors by round; row i's gradient is rounds[k][i]
        values_by_round: list[Tensor] = [self.fx]
        with np.errstate(all="ignore"):  # torch's scalar arithmetic: inf/nan, not an exception
            while searches:
                searching = np.zeros(self.rows, dtype=bool)
                searching[list(searches)] = True
                F, G = self._trial(searching, t, d)
                rounds.append(G)
                values_by_round.append(F)
                k = len(rounds) - 1
                host = self._host(torch.stack([F, dot(G, d)]))
                for i in list(searches):
                    try:
                        t[i] = searches[i].send((host[0, i], host[1, i], k))
                    except StopIteration as done:
                        results[i] = done.value
                        del searches[i]
        accepted = np.full(self.rows, np.nan)
        which = np.zeros(self.rows, dtype=np.int64)
        for i, (t_i, k) in results.items():
            accepted[i], which[i] = t_i, k
        index = torch.as_tensor(which, device=self.x.device)
        arange = torch.arange(self.rows, device=self.x.device)
        f_new = torch.stack(values_by_round)[index, arange]
        g_new = torch.stack(rounds)[index, arange]
        self._accept(rows, accepted, d, f_new, g_new)
        return accepted, g_start


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """``torch.optim.lbfgs._cubic_interpolate`` on host floats (the minimiser of the cubic
    through two points with their slopes, clipped to ``bounds``; Nocedal & Wright eq. 3.59)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / np.float64(x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(f, gtd, t, d_norm, c1, c2, tolerance_change, max_ls):
    """``torch.optim.lbfgs._strong_wolfe`` for one row, as a generator, decision for decision.

    Yields trial steps ``t``; receives ``(f(x + t d), grad f(x + t d)^T d, token)`` for each,
    where ``token`` names the gradient at that trial (the token ``0`` is the start point's).
    Returns ``(t, token)`` of the accepted step. Bracketing then zoom with safeguarded cubic
    interpolation (Nocedal & Wright 2006, Alg. 3.5-3.6), as ported by torch from Torch7's
    ``lswolfe.lua``.
    """
    f_new, gtd_new, g_new = yield t
    ls_iter = 0
    t_prev, f_prev, g_prev, gtd_prev = 0, f, 0, gtd
    done = False
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, gtd_new, g_new = yield t
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [0, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, gtd_new, g_new = yield t
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos] = t, f_new, g_new
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos] = t, f_new, g_new
            bracket_gtd[low_pos] = gtd_new
    return float(bracket[low_pos]), bracket_g[low_pos]


# ---------------------------------------------------------------------------------------
# The methods
# ---------------------------------------------------------------------------------------
class RowwiseArmijoGD(RowwiseMethod):
    """``gd-armijo`` row by row (:class:`~optbench.optimizers.first_order.ArmijoGD`)."""

    def __init__(self, f, x0, lr=1.0, c=1e-4, shrink=0.5, regrow=False, max_backtracks=50):
        super().__init__(f, x0)
        self.lr, self.c, self.shrink, self.regrow, self.max_backtracks = lr, c, shrink, bool(regrow), max_backtracks
        self.last_t = np.full(self.rows, np.nan)  # the previous step per row (NaN: none yet)

    def step(self, active):
        self.refreshed[:] = False
        rows = self.moving(active)
        gtd = -self._host(dot(self.g, self.g))
        rows &= gtd != 0.0
        if not rows.any():
            return
        t0 = np.full(self.rows, float(self.lr))
        if self.regrow:
            t0 = np.where(np.isnan(self.last_t), t0, np.minimum(t0, self.last_t / self.shrink))
        accepted = self._armijo(rows, -self.g, gtd, t0, self.c, self.shrink, self.max_backtracks)
        fallback = t0 * self.shrink ** self.max_backtracks
        self.last_t = np.where(rows, np.where(np.isnan(accepted), fallback, accepted), self.last_t)


class RowwiseLBFGS(RowwiseMethod):
    """``lbfgs`` row by row: ``torch.optim.LBFGS(max_iter=1, line_search_fn="strong_wolfe")``.

    Per row: the pairs ``(s, y)`` of its own iterations (kept when ``y^T s > 1e-10``, the
    newest ``history_size``), ``H_diag = y^T s / y^T y``, the two-loop recursion, the first step
    ``min(1, 1/||g||_1) lr``, and torch's strong-Wolfe search (``c1 = 1e-4``, ``c2 = 0.9``,
    bracket tolerance ``1e-9``, at most ``max_ls`` evaluations after the first). The history of
    all rows lives in ``(S, history_size, n)`` tensors, newest pair last; a row with ``k``
    pairs has zeros in its first ``history_size - k`` slots, which the recursion skips.
    """

    def __init__(self, f, x0, lr=1.0, history_size=10, max_ls=25, tolerance_grad=1e-12, tolerance_change=1e-16):
        super().__init__(f, x0)
        self.lr, self.m, self.max_ls = lr, int(history_size), int(max_ls)
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        S, n = x0.shape
        new = x0.new_zeros
        self.old_dirs, self.old_stps, self.ro = new(S, self.m, n), new(S, self.m, n), new(S, self.m)
        self.pairs = np.zeros(S, dtype=np.int64)
        self.H_diag = new(S).fill_(1.0)
        self.d, self.prev_g = new(S, n), new(S, n)
        self.t = np.zeros(S)
        self.n_iter = np.zeros(S, dtype=np.int64)

    def _direction(self, rows: np.ndarray) -> Tensor:
        """``-H g`` by the two-loop recursion on each row's own pairs; the rows of ``rows`` only
        are updated with the newest pair (the others keep their state)."""
        g = self.g
        first = rows & (self.n_iter == 1)
        later = rows & (self.n_iter > 1)
        later_t = torch.as_tensor(later, device=g.device)
        y = g - self.prev_g
        s = self.d * _column(self.t, g)
        ys = dot(y, s)
        update = later & (self._host(ys) > 1e-10)
        if update.any():
            mask = torch.as_tensor(update, device=g.device)
            m3 = mask.view(-1, 1, 1)
            self.old_dirs = torch.where(m3, torch.cat([self.old_dirs[:, 1:], y.unsqueeze(1)], 1), self.old_dirs)
            self.old_stps = torch.where(m3, torch.cat([self.old_stps[:, 1:], s.unsqueeze(1)], 1), self.old_stps)
            self.ro = torch.where(mask.unsqueeze(-1), torch.cat([self.ro[:, 1:], (1.0 / ys).unsqueeze(1)], 1), self.ro)
            self.H_diag = torch.where(mask, ys / dot(y, y), self.H_diag)
            self.pairs = np.where(update, np.minimum(self.pairs + 1, self.m), self.pairs)
        if first.any():
            self.pairs[first] = 0
            self.H_diag = torch.where(torch.as_tensor(first, device=g.device), 1.0, self.H_diag)
        used = int(self.pairs[later].max()) if later.any() else 0
        q = -g
        if used:  # slot i of every row as an (S, n) or (S, 1) view: one call per tensor, not per slot
            dirs, stps = self.old_dirs.unbind(1), self.old_stps.unbind(1)
            ro = self.ro.unsqueeze(-1).unbind(1)
            valid = torch.as_tensor(self.pairs[:, None] > self.m - 1 - np.arange(self.m),
                                    device=g.device).unsqueeze(-1).unbind(1)
        al = {}
        for i in range(self.m - 1, self.m - 1 - used, -1):
            al[i] = (stps[i] * q).sum(-1, keepdim=True) * ro[i]
            q = torch.where(valid[i], q - al[i] * dirs[i], q)
        r = q * self.H_diag.unsqueeze(-1)
        for i in range(self.m - used, self.m):
            be_i = (dirs[i] * r).sum(-1, keepdim=True) * ro[i]
            r = torch.where(valid[i], r + (al[i] - be_i) * stps[i], r)
        return torch.where(later_t.unsqueeze(-1), r, -g)

    def step(self, active):
        self.refreshed[:] = False
        rows = self.moving(active)
        rows &= ~(self._host(self.g.abs().amax(-1)) <= self.tolerance_grad)
        if not rows.any():
            return
        self.n_iter[rows] += 1
        d = self._direction(rows)
        mask = torch.as_tensor(rows, device=d.device).unsqueeze(-1)
        self.d = torch.where(mask, d, self.d)
        self.prev_g = torch.where(mask, self.g, self.prev_g)
        first = self.n_iter == 1
        with np.errstate(divide="ignore"):
            t0 = np.where(first, np.minimum(1.0, 1.0 / self._host(self.g.abs().sum(-1))) * self.lr, self.lr)
        self.t = np.where(rows, t0, self.t)
        gtd = self._host(dot(self.g, self.d))
        rows &= ~(gtd > -self.tolerance_change)  # not a descent direction: torch breaks off (t stays lr)
        if rows.any():
            accepted, _ = self._strong_wolfe(rows, self.d, gtd, t0, 1e-4, 0.9, 1e-9, self.max_ls)
            self.t = np.where(rows, accepted, self.t)


class RowwiseBFGS(RowwiseMethod):
    """``bfgs`` row by row (:class:`~optbench.optimizers.quasi_newton.BFGS`): each row has its
    own ``n x n`` inverse-Hessian approximation (``(S, n, n)`` in all) and its own restarts."""

    def __init__(self, f, x0, lr=1.0, c1=1e-4, c2=0.9, max_ls=25, tolerance_grad=1e-12, tolerance_change=1e-16):
        super().__init__(f, x0)
        self.lr, self.c1, self.c2, self.max_ls = lr, c1, c2, int(max_ls)
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        S, n = x0.shape
        self.H = x0.new_zeros(S, n, n)
        self.has_H = np.zeros(S, dtype=bool)
        self.eye = torch.eye(n, dtype=x0.dtype, device=x0.device)

    def step(self, active):
        self.refreshed[:] = False
        rows = self.moving(active)
        rows &= ~(self._host(self.g.abs().amax(-1)) <= self.tolerance_grad)
        if not rows.any():
            return
        g = self.g
        has = torch.as_tensor(self.has_H, device=g.device).unsqueeze(-1)
        d = torch.where(has, -matvec(self.H, g), -g)
        gtd = self._host(dot(g, d))
        restart = rows & self.has_H & ~(gtd < 0)  # rounding lost positive definiteness
        if restart.any():
            self.has_H &= ~restart
            d = torch.where(torch.as_tensor(restart, device=g.device).unsqueeze(-1), -g, d)
            gtd = np.where(restart, -self._host(dot(g, g)), gtd)
        with np.errstate(divide="ignore"):
            scaled = self.lr * np.minimum(1.0, 1.0 / self._host(g.abs().sum(-1)))
        t0 = np.where(self.has_H, float(self.lr), scaled)
        t, g_start = self._strong_wolfe(rows, d, gtd, t0, self.c1, self.c2, self.tolerance_change, self.max_ls)
        t_col = _column(np.where(rows, t, 0.0), d)
        s = d * t_col
        y = self.g - g_start
        ys = dot(y, s)
        eps = torch.finfo(s.dtype).eps
        curved = rows & (self._host(ys) > eps * self._host(s.norm(dim=-1) * y.norm(dim=-1)))
        if curved.any():
            new = curved & ~self.has_H  # Nocedal & Wright (6.20): H_0 = (y's / y'y) I before the first update
            H = torch.where(torch.as_tensor(new, device=d.device).view(-1, 1, 1),
                            self.eye * (ys / dot(y, y)).view(-1, 1, 1), self.H)
            rho = (1.0 / ys).view(-1, 1, 1)
            Hy = matvec(H, y)
            outer = s.unsqueeze(-1) * Hy.unsqueeze(-2)
            ss = s.unsqueeze(-1) * s.unsqueeze(-2)
            updated = H - rho * (outer + outer.mT) + (rho * rho * dot(y, Hy).view(-1, 1, 1) + rho) * ss
            self.H = torch.where(torch.as_tensor(curved, device=d.device).view(-1, 1, 1), updated, self.H)
            self.has_H |= curved
        lost = rows & ~curved & (t == 0)  # no decrease along d: restart from steepest descent
        self.has_H &= ~lost


class RowwiseNewtonCG(RowwiseMethod):
    """``newton-cg`` row by row (:class:`~optbench.optimizers.second_order.NewtonCG`): each row runs
    its own truncated CG (its own tolerance, negative-curvature exit and iteration count; every
    row's product is one backward pass through the batch's gradient graph, counted in that
    row's ``nhev`` while its CG runs), then its own Armijo search from ``t = 1``."""

    def __init__(self, f, x0, c=1e-4, shrink=0.5, max_backtracks=50, max_cg=200):
        super().__init__(f, x0)
        self.c, self.shrink, self.max_backtracks, self.max_cg = c, shrink, int(max_backtracks), int(max_cg)

    def _direction(self, rows: np.ndarray) -> Tensor:
        """Truncated CG on ``H d = -g`` per row (Nocedal & Wright 2006, Alg. 7.1)."""
        g = self.g
        with np.errstate(all="ignore"):
            g_norm = np.sqrt(self._host(dot(g, g)))
            tol = np.minimum(0.5, np.sqrt(g_norm)) * g_norm
        z = torch.zeros_like(g)
        r = g
        p = -r
        rr = self._host(dot(r, r))
        running = rows & (rr != 0.0)  # a stationary point: no direction (CG would divide by zero)
        steepest = np.zeros(self.rows, dtype=bool)
        if not running.any():
            return z
        hvp = hessian_vector_products(self.f, self.x)
        for j in range(self.max_cg):
            Hp = hvp(p)
            self.nhev += running
            with np.errstate(all="ignore"):
                curvature = self._host(dot(p, Hp))
                negative = running & (curvature <= 0)  # negative curvature: the last iterate
                if j == 0:
                    steepest |= negative
                running &= ~negative
                if not running.any():
                    break
                alpha = np.where(running, rr / curvature, 0.0)
            keep = torch.as_tensor(running, device=g.device).unsqueeze(-1)
            a = _column(alpha, g)
            z = torch.where(keep, z + a * p, z)
            r = torch.where(keep, r + a * Hp, r)
            rr_new = self._host(dot(r, r))
            with np.errstate(all="ignore"):
                running &= ~(np.sqrt(rr_new) < tol)
                if not running.any():
                    break
                beta = np.where(running, rr_new / rr, 0.0)
            keep = torch.as_tensor(running, device=g.device).unsqueeze(-1)
            p = torch.where(keep, -r + _column(beta, g) * p, p)
            rr = np.where(running, rr_new, rr)
        return torch.where(torch.as_tensor(steepest, device=g.device).unsqueeze(-1), -g, z)

    def step(self, active):
        self.refreshed[:] = False
        rows = self.moving(active)
        rows &= self._host(self.g.ne(0).any(-1)).astype(bool)
        if not rows.any():
            return
        d = self._direction(rows)
        self._armijo(rows, d, self._host(dot(self.g, d)), np.ones(self.rows), self.c, self.shrink,
                     self.max_backtracks)


MAX_SHIFT_TRIES = 64


def rowwise_cholesky_with_shift(A: Tensor, rows: np.ndarray, damping: float) -> Tensor:
    r""":func:`~optbench.optimizers.second_order.cholesky_with_shift` for each matrix of ``A``
    (``(S, n, n)``) in ``rows``: each row searches its own shift ``tau`` (Nocedal & Wright 2006,
    Alg. 3.3); returns the Cholesky factors (identity where a row is not in ``rows``)."""
    beta = damping * np.maximum(1.0, RowwiseMethod._host(A.flatten(-2).square().sum(-1).sqrt()))
    min_diag = RowwiseMethod._host(A.diagonal(dim1=-2, dim2=-1).amin(-1))
    tau = np.where(min_diag > 0, 0.0, beta - min_diag)
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    factors = eye.expand_as(A).clone()
    pending = rows.copy()
    for _ in range(MAX_SHIFT_TRIES):
        L, info = torch.linalg.cholesky_ex(A + _column(tau, A).unsqueeze(-1) * eye)
        done = pending & (RowwiseMethod._host(info) == 0)
        factors = torch.where(torch.as_tensor(done, device=A.device).view(-1, 1, 1), L, factors)
        pending &= ~done
        if not pending.any():
            return factors
        tau = np.where(pending, np.maximum(2.0 * tau, beta), tau)
    raise RuntimeError(f"no shift up to tau={tau[pending].max():.3g} makes the Hessian positive definite "
                       "(is it finite?)")


class RowwiseNewton(RowwiseMethod):
    """``newton`` row by row (:class:`~optbench.optimizers.second_order.Newton`): the rows' dense
    Hessians from one :func:`~optbench.problem.dense_hessian` call (one ``nhev`` per moving
    row), each row's own shift, Cholesky solve and Armijo search from ``t = 1``."""

    def __init__(self, f, x0, c=1e-4, shrink=0.5, max_backtracks=50, damping=1e-3):
        super().__init__(f, x0)
        self.c, self.shrink, self.max_backtracks, self.damping = c, shrink, int(max_backtracks), damping

    def step(self, active):
        self.refreshed[:] = False
        rows = self.moving(active)
        rows &= self._host(self.g.ne(0).any(-1)).astype(bool)
        if not rows.any():
            return
        H = dense_hessian(self.f, self.x)
        self.nhev += rows
        L = rowwise_cholesky_with_shift((H + H.mT) / 2, rows, self.damping)
        d = -torch.cholesky_solve(self.g.unsqueeze(-1), L).squeeze(-1)
        d = torch.where(torch.as_tensor(rows, device=d.device).unsqueeze(-1), d, torch.zeros_like(d))
        self._armijo(rows, d, self._host(dot(self.g, d)), np.ones(self.rows), self.c, self.shrink,
                     self.max_backtracks)

"""Newton's method for the calibration equations ``Σ d F(Xλ) x = T`` (:mod:`portrait.survey.calibration`): the
distances ``F``, the solver of one problem, and the same solver run on a stack of problems that share their cells and
constraints but not their weights (the replicates of a calibration step), each with its own iterates.

The stacked solver gives each problem exactly the numbers the one-problem solver gives it: the elementwise arithmetic
is the same on a stack, a stacked ``numpy.matmul`` makes the same BLAS call for each problem as the single product
does, each problem's step is its own least-squares solve (the same LAPACK call, :func:`lstsq_rows`), and its step
halving and stopping rule are its own.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

try:        # numpy's least-squares gufunc, the LAPACK gelsd call behind numpy.linalg.lstsq; it takes a stack at once
    from numpy.linalg import _umath_linalg
except ImportError:     # pragma: no cover - another numpy: the stack is solved one problem at a time
    _umath_linalg = None

METHODS = ("linear", "raking", "logit", "truncated")


# ============================================================================ distances


def _F(method: str, u: np.ndarray, L: float, U: float) -> tuple[np.ndarray, np.ndarray]:
    """g = F(u) and dF/du for a calibration distance."""
    if method == "linear":
        return 1.0 + u, np.ones_like(u)
    if method == "raking":
        e = np.exp(np.clip(u, -700, 700))
        if L == -np.inf and U == np.inf:
            return e, e
        # bounded raking, as R's calfun = "raking", bounds =; a unit on its bound (to rounding) keeps its slope, so
        # that Newton can bring it back inside (see _step_limit)
        on = (e >= L * (1 - 1e-12)) & (e <= U * (1 + 1e-12))
        return np.clip(e, L, U), e * on
    if method == "truncated":
        g = 1.0 + u
        inside = (g > L) & (g < U)
        return np.clip(g, L, U), inside.astype(float)
    if method == "logit":
        A = (U - L) / ((1 - L) * (U - 1))
        z = np.clip(A * u, -700, 700)
        # g = (L(U-1) + U(1-L)e^z) / (U-1 + (1-L)e^z), evaluated stably on both signs of z
        pos = z > 0
        ez = np.exp(np.where(pos, -z, z))
        num = np.where(pos, L * (U - 1) * ez + U * (1 - L), L * (U - 1) + U * (1 - L) * ez)
        den = np.where(pos, (U - 1) * ez + (1 - L), (U - 1) + (1 - L) * ez)
        g = num / den
        # dg/du = A (g - L)(U - g) / (U - L)
        return g, A * (g - L) * (U - g) / (U - L)
    raise ParameterError(f"calibration method must be one of {METHODS}, got {method!r}")


# ============================================================================ solver


def _step_limit(u: np.ndarray, du: np.ndarray, L: float, U: float) -> float:
    """The longest fraction of a bounded-raking Newton step that takes no unit from inside its bounds beyond them:
    such a unit stops on its bound, where it keeps its slope; a unit carried past it, where ``g`` is flat, would
    leave the equations no way to bring it back (a level whose every unit is clipped cannot move)."""
    lo, hi = np.log(L) if L > 0 else -np.inf, np.log(U)
    inside = (u > lo + 1e-9) & (u < hi - 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_bound = np.where(du > 0, (hi - u) / du, np.where(du < 0, (lo - u) / du, np.inf))
    return float(min(1.0, np.min(to_bound[inside], initial=np.inf)))


def _newton(X: np.ndarray, d: np.ndarray, T: np.ndarray, method: str, L: float, U: float,
            maxit: int, tol: float, X_check: np.ndarray | None = None,
            T_check: np.ndarray | None = None, limit: bool = False) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Solve Σ d F(Xλ) x = T; return (g, λ, iterations, max relative misfit).

    ``limit``: a bounded-raking step stops where a unit reaches its bound (:func:`_step_limit`).

    The stopping rule is checked on ``X_check``/``T_check`` when given (every margin level,
    including those implied by the grand total), otherwise on the constraints solved.
    """
    lam = np.zeros(X.shape[1])
    Xc, Tc = (X, T) if X_check is None else (X_check, T_check)
    scale = 1.0 + np.abs(Tc)

    def misfit_of(l):
        g, dg = _F(method, X @ l, L, U)
        return g, dg, T - X.T @ (d * g), float(np.max(np.abs(Tc - Xc.T @ (d * g)) / scale))

    g, dg, mis, rel = misfit_of(lam)
    it = 0
    while rel >= tol and it < maxit:
        it += 1
        J = X.T @ (X * (d * dg)[:, None])
        step = np.linalg.lstsq(J, mis, rcond=None)[0]
        t = _step_limit(X @ lam, X @ step, L, U) if limit else 1.0
        for _ in range(40):
            g_new, dg_new, mis_new, rel_new = misfit_of(lam + t * step)
            if np.all(np.isfinite(g_new)) and (rel_new < rel or method in ("linear",)):
                break
            t /= 2
        else:
            # no step of 40 halvings lowers the misfit: the equations cannot be met more closely (a margin out
            # of reach), and another iteration would repeat the same search; the caller judges the misfit left
            break
        lam = lam + t * step
        g, dg, mis, rel = g_new, dg_new, mis_new, rel_new
    return g, lam, it, rel



def _products(A: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``A @ v`` for each row ``v`` of ``V``: a stacked matmul, the same BLAS call per row as ``A @ v``."""
    return np.matmul(A, V[:, :, None])[:, :, 0]


def _svd_failed(err: str, flag: int) -> None:
    raise np.linalg.LinAlgError("SVD did not converge in Linear Least Squares")


def lstsq_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``numpy.linalg.lstsq(A[i], B[i], rcond=None)[0]`` for every problem ``i`` of a stack (``A`` of shape ``k × m × n``,
    ``B`` of ``k × m``): the same LAPACK call on each, made by numpy's gufunc for the whole stack with lstsq's ``rcond``
    and its error when the SVD fails, instead of one Python call per problem.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the SVD of a problem does not converge (as ``numpy.linalg.lstsq``).
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if _umath_linalg is None or not hasattr(_umath_linalg, "lstsq") or not len(A) or A.shape[1] == 0:
        return np.array([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(A, B)]).reshape(len(A), A.shape[2])
    rcond = np.finfo(float).eps * max(A.shape[1:])
    try:
        with np.errstate(call=_svd_failed, invalid="call", over="ignore", divide="ignore", under="ignore"):
            return _umath_linalg.lstsq(A, B[..., None], rcond, signature="ddd->ddid")[0][..., 0]
    except TypeError:       # pragma: no cover - a numpy whose private gufunc has another signature
        return np.array([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(A, B)]).reshape(len(A), A.shape[2])


def _newton_rows(X: np.ndarray, D: np.ndarray, T: np.ndarray, method: str, L: float, U: float, maxit: int,
                 tol: float, X_check: np.ndarray, T_check: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_newton` (without a step limit) on each row of ``D`` (one problem's cell weights a row): each row's
    g, λ, iterations and misfit, the very numbers :func:`_newton` gives that row, computed for all rows at once
    (only the least-squares steps are solved one row at a time)."""
    scale = 1.0 + np.abs(T_check)

    def misfit_of(lam, d):
        g, dg = _F(method, _products(X, lam), L, U)
        dgw = d * g
        return g, dg, T - _products(X.T, dgw), np.max(np.abs(T_check - _products(X_check.T, dgw)) / scale, axis=1)

    lam = np.zeros((len(D), X.shape[1]))
    g, dg, mis, rel = misfit_of(lam, D)
    it = np.zeros(len(D), dtype=int)
    stalled = np.zeros(len(D), dtype=bool)
    while len(act := np.flatnonzero((rel >= tol) & (it < maxit) & ~stalled)):
        it[act] += 1
        J = np.matmul(X.T, X * (D[act] * dg[act])[:, :, None])
        step = lstsq_rows(J, mis[act])
        t = np.ones(len(act))
        todo = np.arange(len(act))        # the rows whose step is still being halved
        for _ in range(40):
            rows = act[todo]
            trial = lam[rows] + t[todo, None] * step[todo]
            g_new, dg_new, mis_new, rel_new = misfit_of(trial, D[rows])
            ok = np.all(np.isfinite(g_new), axis=1) & ((rel_new < rel[rows]) | (method == "linear"))
            lam[rows[ok]], g[rows[ok]], dg[rows[ok]] = trial[ok], g_new[ok], dg_new[ok]
            mis[rows[ok]], rel[rows[ok]] = mis_new[ok], rel_new[ok]
            todo = todo[~ok]
            t[todo] /= 2
            if not len(todo):
                break
        stalled[act[todo]] = True     # no step of 40 halvings lowers their misfit (see _newton)
    return g, lam, it, rel

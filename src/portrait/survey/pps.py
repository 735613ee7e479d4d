"""PPS designs sampled without replacement: the approximations R ``svydesign(pps = …)`` offers.

A sample of PSUs drawn with probabilities proportional to size and without replacement has a
Horvitz–Thompson variance that needs the joint inclusion probabilities ``π_ij``. With the PSU totals
``x̌_i`` of the influence values (already divided by ``π_i``) and ``Ď_ij = (π_ij − π_i π_j)/π_ij``:

    HT:  V̂ = Σ_i Σ_j Ď_ij x̌_i x̌_j          YG (Sen–Yates–Grundy):  V̂ = HT − Σ_i Σ_j Ď_ij x̌_j²

Each method gives ``Ď`` (R ``survey:::overton2Dcheck``, ``HRDcheck``, ``pi2Dcheck``), stratum by stratum,
with ``n`` the PSUs sampled in the stratum and ``Ď_ii = 1 − π_i``:

* ``"overton"`` (Overton 1985): ``Ď_ij = 1 − (n − (π_i + π_j)/2)/(n − 1)``;
* ``"hartley_rao"`` (:func:`hartley_rao`; Hartley & Rao 1962, truncated): ``Ď_ij = 1 − (n − π_i − π_j + p̄₂)/(n − 1)``
  with ``p̄₂ = Σ_U π_k²/n`` given, or estimated by the sample mean of ``π`` (R ``HR()``);
* a joint-probability matrix (:func:`joint_probabilities`, R ``ppsmat``): ``Ď`` itself, its entries below a
  tolerance set to 0.

As in R, a pair with ``π_i + π_j = 1`` (Hartley–Rao) or ``(π_i + π_j)/2 = 1`` (Overton) gets ``Ď_ij = 0``.
``"brewer"`` (Brewer 2002, R ``pps = "brewer"``) is the ultimate-cluster estimator with each PSU's own
``1 − π_i`` in place of the stratum's ``1 − f``:

    V̂ = Σ_h n_h/(n_h − 1) Σ_i (1 − π_i)(x̌_hi − x̄_h)²,

computed by :func:`~portrait.survey.linearised_variance` once the design's ``fpc`` holds each PSU's ``π``. It alone
has later stages (lists, as :func:`~portrait.survey.multistage.multistage_design`): their variances are multiplied
by the PSU's ``π``, as R's ``multistage`` does with ``nPSU/popsize``. R 4.1.1 pairs the per-PSU ``1 − π`` with the PSU
totals in sorted order, so its clustered Brewer variance is right only for data sorted by PSU; the engine's does not
depend on the order.
Calibration residuals are taken first (:func:`~portrait.survey.residualise`), as R's ``ppsvar``; a domain's
influence values are zero outside it. The HT and YG forms read no ``lonely_psu``: a stratum with one PSU
contributes ``(1 − π) x̌²``, as in R.

References
----------
Brewer, K. R. W. (2002). *Combined Survey Sampling Inference*. Arnold. (chapter 9)
Hartley, H. O. and Rao, J. N. K. (1962). Sampling with unequal probabilities and without replacement.
*Annals of Mathematical Statistics* 33, 350–374.
Overton, W. S. (1985). A sampling plan for streams in the National Stream Survey. Technical Report 114,
Oregon State University.
Berger, Y. G. (2004). A simple variance estimator for unequal probability sampling without replacement.
*Journal of Applied Statistics* 31, 305–315.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svydesign(pps=)``)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from .errors import ParameterError, _first, check_columns, design_values, real_number

if TYPE_CHECKING:
    from .design import Design

PPS_METHODS = ("brewer", "overton", "hartley_rao")
PPS_VARIANCES = ("HT", "YG")
_CHUNK = 2048             # rows of Ď formed at once: a stratum of any size in bounded memory


class HartleyRao(NamedTuple):
    """The truncated Hartley–Rao approximation (R ``HR(psum)``): see :func:`hartley_rao`."""

    psum: float | Mapping[object, float] | None = None


class JointProbabilities(NamedTuple):
    """Joint inclusion probabilities of the sampled units (R ``ppsmat``): see :func:`joint_probabilities`."""

    matrix: np.ndarray
    tolerance: float = 1e-4


class PPS(NamedTuple):
    """How a PPS design sampled without replacement computes its variance (``Design.pps``).

    Attributes
    ----------
    method : str
        ``"brewer"``, ``"overton"``, ``"hartley_rao"`` or ``"joint"``.
    variance : str
        ``"HT"`` (Horvitz–Thompson) or ``"YG"`` (Sen–Yates–Grundy).
    prob : numpy.ndarray
        Per unit, the inclusion probability of its PSU.
    size : numpy.ndarray
        Per unit, the PSUs sampled in its stratum when the design was built (a subset keeps it).
    p2bar : numpy.ndarray or None
        Per unit, Hartley–Rao's ``p̄₂`` of its stratum.
    dcheck : numpy.ndarray or None
        For ``"joint"``: ``Ď`` between the units (each unit its own PSU).
    """

    method: str
    variance: str
    prob: np.ndarray
    size: np.ndarray
    p2bar: np.ndarray | None = None
    dcheck: np.ndarray | None = None


def hartley_rao(psum: float | Mapping[object, float] | None = None) -> HartleyRao:
    """The truncated Hartley–Rao approximation to the joint probabilities, for ``Design.from_frame(pps=…)``.

    Parameters
    ----------
    psum : float or mapping, optional
        ``p̄₂ = Σ_U π_k² / n``, the population's sum of squared inclusion probabilities over the sample size:
        one number (an unstratified design) or one per stratum label. Default: estimated in each stratum by the
        sample mean of ``π``, as R ``HR()``.

    Returns
    -------
    HartleyRao
        The specification ``pps=`` takes (R ``HR(psum)``).

    Raises
    ------
    ParameterError
        If a value is not a number in (0, 1] (``Σ π² ≤ Σ π = n``).
    """
    if psum is None:
        return HartleyRao(None)
    values = list(psum.values()) if isinstance(psum, Mapping) else [psum]
    for v in values:
        x = real_number(v)
        if x is None or not 0 < x <= 1:
            raise ParameterError("hartley_rao(psum): p̄₂ = Σ π² / n lies in (0, 1] (Σ π² ≤ Σ π = n); got "
                                 + (f"{x:g}" if x is not None else f"a {type(v).__name__}")
                                 + " — give the population's sum of squared inclusion probabilities over n")
    return HartleyRao(dict(psum) if isinstance(psum, Mapping) else float(psum))


def joint_probabilities(matrix, tolerance: float = 1e-4) -> JointProbabilities:
    """The sampled units' joint inclusion probabilities, for ``Design.from_frame(pps=…)`` (R ``ppsmat``).

    Parameters
    ----------
    matrix : array_like
        ``n × n``, symmetric, in (0, 1], the units in the data's order; the diagonal holds their inclusion
        probabilities.
    tolerance : float, default 1e-4
        Entries of ``Ď`` smaller than this in absolute value are set to 0 (R ``ppsmat``'s ``tolerance``).

    Returns
    -------
    JointProbabilities
        The specification ``pps=`` takes.

    Raises
    ------
    ParameterError
        If the matrix is not square and symmetric, or an entry is outside (0, 1]: a joint probability of 0
        leaves the Horvitz–Thompson variance undefined (systematic sampling has such pairs).
    """
    P = np.asarray(matrix, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ParameterError(f"joint probabilities must be a square matrix, got shape {P.shape}")
    if not np.isfinite(P).all():
        i, j = np.argwhere(~np.isfinite(P))[0]
        k = int((~np.isfinite(P)).sum())
        raise ParameterError(f"joint probabilities must be numbers: {k} {'entry is' if k == 1 else 'entries are'} "
                             f"missing or infinite, the first at row {i + 1}, column {j + 1}")
    if not np.allclose(P, P.T, rtol=1e-12, atol=0):
        raise ParameterError("joint probabilities must be symmetric: π_ij = π_ji")
    bad = ~((P > 0) & (P <= 1))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ParameterError(f"joint probabilities must lie in (0, 1]: {int(bad.sum())} entries do not, the first at "
                             f"row {i + 1}, column {j + 1} (a joint probability of 0 leaves the Horvitz–Thompson "
                             "variance undefined)")
    return JointProbabilities(P, float(tolerance))


def pps_design(cls: type, data: pd.DataFrame, weights, prob, strata, psu, fpc, lonely_psu: str, pps,
               variance: str) -> "Design":
    """Build a PPS design sampled without replacement, like R ``svydesign(id=, strata=, fpc=, pps=, variance=)``.

    Called by :meth:`Design.from_frame` when ``pps`` is given (see its parameters).

    Parameters
    ----------
    cls : type
        The :class:`Design` class.
    data : pandas.DataFrame
        One row per sampled unit.
    weights : str or sequence of float or None
        Design weights; with neither them nor ``prob``, the weights are ``1/fpc`` (as R).
    prob : str or sequence of float or None
        Inclusion probabilities.
    strata : str or None
        Stratum column.
    psu : str or None
        PSU column (default: units).
    fpc : str or sequence of float or None
        Each unit's PSU inclusion probability ``π`` (≤ 1, constant within a PSU), from which the variance is
        computed; required by ``"brewer"``. Without it the other methods take ``π = 1/weight``. Given ``weights``
        are the estimates' weights (R's ``pps_design`` drops ``weights=`` and weights by ``1/fpc``).
    lonely_psu : str
        Treatment of single-PSU strata (Brewer's estimator only).
    pps : str or HartleyRao or JointProbabilities
        ``"brewer"``, ``"overton"``, ``"hartley_rao"`` (``p̄₂`` estimated), :func:`hartley_rao` or
        :func:`joint_probabilities`.
    variance : {"HT", "YG"}
        Horvitz–Thompson or Sen–Yates–Grundy form (``"brewer"``: HT only, as R).

    Returns
    -------
    Design
        A single-stage design whose ``fpc`` holds each unit's PSU probability ``π`` and ``pps`` its :class:`PPS`.

    Raises
    ------
    ParameterError
        If the method or variance form is unknown, the design has several stages, ``fpc`` is missing for Brewer's
        method, not a probability or varies within a PSU, the weights are not positive, a Hartley–Rao ``psum``
        misses a stratum, or a joint-probability matrix does not match the units.
    """
    spec = _spec(pps)
    if variance not in PPS_VARIANCES:
        raise ParameterError(f"pps_variance must be one of {PPS_VARIANCES}, got {variance!r}")
    if spec == "brewer" and variance != "HT":
        raise ParameterError("Brewer's approximation has the HT form only (as R: variance='HT')")
    if any(isinstance(a, (list, tuple)) for a in (strata, psu, fpc)):
        if spec != "brewer":
            raise ParameterError("only Brewer's approximation has several stages (as R): give psu=, strata= and fpc= "
                                 "as single columns, or pps='brewer'")
        from .multistage import multistage_design
        return multistage_design(cls, data, weights, prob, strata, psu, fpc, lonely_psu, pps="brewer")
    if spec == "brewer" and fpc is None:
        raise ParameterError("pps='brewer' needs fpc=: each PSU's inclusion probability (R reads Brewer's 1 − π "
                             "from it)")
    pi = _fractions(data, fpc) if fpc is not None else None
    if weights is None and prob is None and pi is not None:
        prob = pi                         # R: the fpc's fractions are the probabilities
    base = cls.from_frame(data, weights=weights, prob=prob, strata=strata, psu=psu, lonely_psu=lonely_psu)
    if not np.all(base.weights > 0):
        raise ParameterError("a PPS design needs positive weights (each unit's 1/π)")
    if pi is None:
        pi = 1.0 / base.weights
    elif spec != "brewer" and (off := np.flatnonzero(~np.isclose(base.weights * pi, 1.0, rtol=1e-9, atol=0))).size:
        raise ParameterError(f"with pps={pps if isinstance(pps, str) else type(pps).__name__!r} the weights must be "
                             f"1/fpc: {off.size} units' are not {_first(off)} (R's pps designs weight "
                             "by 1/fpc and ignore weights=); give fpc= alone, and adjust the weights afterwards "
                             "(adjust_nonresponse, calibrate)")
    first = np.unique(base.psu, return_index=True)[1]
    per_psu = np.searchsorted(base.psu[first], base.psu)
    if not np.array_equal(pi, pi[first][per_psu]):
        raise ParameterError("the inclusion probability varies within a PSU: give each PSU's probability on "
                             "every one of its units")
    codes, size = np.unique(base.strata[first], return_counts=True)
    size = size[np.searchsorted(codes, base.strata)]
    p2bar = dcheck = None
    method = spec if isinstance(spec, str) else ("hartley_rao" if isinstance(spec, HartleyRao) else "joint")
    if isinstance(spec, HartleyRao):
        p2bar = _p2bar(base, spec.psum, pi, first)
    elif isinstance(spec, JointProbabilities):
        dcheck = _dcheck(base, spec, pi, psu)
    return replace(base, fpc=pi, pps=PPS(method, variance, pi, size, p2bar, dcheck))


def _spec(pps) -> "str | HartleyRao | JointProbabilities":
    """The method ``pps=`` names: one of :data:`PPS_METHODS`, :func:`hartley_rao` or :func:`joint_probabilities`."""
    if isinstance(pps, (HartleyRao, JointProbabilities)):
        return pps
    known = f"pps must be one of {PPS_METHODS}, survey.hartley_rao(psum) or survey.joint_probabilities(matrix)"
    if isinstance(pps, str) and pps in PPS_METHODS:
        return HartleyRao() if pps == "hartley_rao" else pps
    if isinstance(pps, str):
        r_name = pps.strip().lower().rstrip("()")
        hint = {"hr": "; R's HR() is survey.hartley_rao()", "ppsmat": "; R's ppsmat(m) is survey.joint_probabilities(m)",
                "other": "; R's 'other' takes a joint-probability matrix: survey.joint_probabilities(m)"}.get(r_name, "")
        raise ParameterError(f"{known}; got {pps!r}{hint}")
    raise ParameterError(f"{known}; got a {type(pps).__name__}"
                         + (" (R's pps=TRUE is an error too: name the method)" if isinstance(pps, bool) else ""))


def _fractions(data: pd.DataFrame, fpc) -> np.ndarray:
    """The ``fpc`` of a PPS design: each unit's PSU inclusion probability, in (0, 1] (population sizes and
    percentages refused, as R does)."""
    check_columns(data, fpc=fpc)
    values = design_values(data.reset_index(drop=True), fpc, "fpc")
    bad = np.flatnonzero(~((values > 0) & (values <= 1)))
    if bad.size:
        raise ParameterError(f"fpc {fpc!r} of a PPS design must be each PSU's inclusion probability, in (0, 1]: "
                             f"{bad.size} units' are not {_first(bad)} (give probabilities, not "
                             "population sizes or percentages; R: 'fpc must be specified as sampling fraction for "
                             "PPS sampling')")
    return values


def _p2bar(base: "Design", psum, pi: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Hartley–Rao's ``p̄₂`` per unit: given, or the mean ``π`` of its stratum's PSUs (R ``HR()``)."""
    if psum is None:
        total = np.bincount(base.strata[first], weights=pi[first])
        count = np.bincount(base.strata[first])
        return (total / np.maximum(count, 1))[base.strata]
    labels = base.strata_labels
    if not isinstance(psum, Mapping):
        if len(labels) > 1:
            raise ParameterError("hartley_rao(psum) of a stratified design takes one value per stratum label "
                                 f"(a mapping over {len(labels)} strata), not one number")
        return np.full(len(pi), psum)
    given = {str(k): float(v) for k, v in psum.items()}
    missing = [str(lab) for lab in labels if str(lab) not in given]
    if missing:
        raise ParameterError(f"hartley_rao(psum) has no value for strata {missing[:5]}")
    return np.array([given[str(lab)] for lab in labels])[base.strata]


def _dcheck(base: "Design", spec: JointProbabilities, pi: np.ndarray, psu) -> np.ndarray:
    """``Ď = (π_ij − π_i π_j)/π_ij`` between the units, small entries set to 0 (R ``pi2Dcheck``)."""
    P = spec.matrix
    n = len(pi)
    if psu is not None:
        raise ParameterError("joint probabilities are between units: a design with them has no psu= (each unit its "
                             "own PSU, as R ppsmat)")
    if P.shape != (n, n):
        raise ParameterError(f"the joint probabilities are {P.shape[0]} × {P.shape[1]} for {n} units: one row and "
                             "one column per unit, in the data's order")
    d = np.diag(P)
    if not np.allclose(d, pi, rtol=1e-6, atol=0):
        i = int(np.argmax(~np.isclose(d, pi, rtol=1e-6, atol=0)))
        raise ParameterError(f"the joint probabilities' diagonal must be the units' inclusion probabilities; unit "
                             f"{i + 1} has {d[i]:.6g} against {pi[i]:.6g}")
    D = (P - np.outer(d, d)) / P
    D[np.abs(D) < spec.tolerance] = 0.0
    return D


def subset_pps(pps: PPS | None, mask: np.ndarray) -> PPS | None:
    """The :class:`PPS` of the units ``mask`` keeps (a subset that drops rows)."""
    if pps is None:
        return None
    return pps._replace(prob=pps.prob[mask], size=pps.size[mask],
                        p2bar=None if pps.p2bar is None else pps.p2bar[mask],
                        dcheck=None if pps.dcheck is None else pps.dcheck[np.ix_(mask, mask)])


def ht_variance(design: "Design", Z: np.ndarray, psu_idx: np.ndarray, psu_stratum: np.ndarray,
                diagonal: bool = False) -> np.ndarray:
    """The HT or YG variance (``q × q``, or its diagonal) of PSU totals ``Z`` (``P × q``) of a PPS design.

    Parameters
    ----------
    design : Design
        A design with ``pps`` of the ``"overton"``, ``"hartley_rao"`` or ``"joint"`` method.
    Z : numpy.ndarray
        Totals of the influence values per PSU, PSUs in the order of their codes.
    psu_idx : numpy.ndarray
        Each unit's PSU (position in ``Z``).
    psu_stratum : numpy.ndarray
        Each PSU's stratum code.
    diagonal : bool, default False
        The variances only.

    Returns
    -------
    numpy.ndarray
        ``Σ_ij Ď_ij Z_i Z_j'``, less ``Σ_ij Ď_ij Z_j Z_j'`` for the YG form.
    """
    p = design.pps
    first = np.unique(psu_idx, return_index=True)[1]
    q = Z.shape[1]
    V = np.zeros(q) if diagonal else np.zeros((q, q))
    if p.method == "joint":
        blocks = [np.arange(len(first))]
    else:
        order = np.argsort(psu_stratum, kind="stable")
        blocks = np.split(order, np.flatnonzero(np.diff(psu_stratum[order])) + 1)
    for b in blocks:
        units = first[b]
        pi, Zb = p.prob[units], Z[b]
        for a in range(0, len(b), _CHUNK):
            r = np.arange(a, min(len(b), a + _CHUNK))
            if p.method == "joint":
                D = p.dcheck[np.ix_(units[r], units)]
            else:
                D = _approximation(p.method, pi, r, float(p.size[units[0]]),
                                   None if p.p2bar is None else float(p.p2bar[units[0]]))
            DZ = D @ Zb
            Zr = Zb[r]
            V = V + ((Zr * DZ).sum(0) if diagonal else Zr.T @ DZ)
            if p.variance == "YG":       # Σ_j Ď_ij x̌_j²: Ď symmetric, so its row sums are its column sums
                s = D.sum(1)[:, None]
                V = V - ((s * Zr * Zr).sum(0) if diagonal else (s * Zr).T @ Zr)
    negative = int(((V if diagonal else np.diag(V)) < 0).sum())
    if negative:
        warnings.warn(f"the {p.variance} form of this PPS design's variance is negative for {negative} of {q} "
                      "estimates (possible with approximated or small joint probabilities): their standard error is NaN"
                      + ("; the Yates–Grundy form (pps_variance='YG') is not negative when every π_i π_j ≥ π_ij"
                         if p.variance == "HT" else ""), UserWarning, stacklevel=3)
    return V


def _approximation(method: str, pi: np.ndarray, r: np.ndarray, n: float, p2bar: float | None) -> np.ndarray:
    """Rows ``r`` of one stratum's ``Ď`` (R ``overton2Dcheck`` / ``HRDcheck``)."""
    if len(pi) == 1:
        return np.array([[1.0 - pi[0]]])
    if method == "overton":
        fbar = (pi[r, None] + pi[None, :]) / 2
        D = 1 - (n - fbar) / (n - 1)
    else:
        fbar = pi[r, None] + pi[None, :]
        D = 1 - (n - fbar + p2bar) / (n - 1)
    D[fbar == 1] = 0.0
    D[np.arange(len(r)), r] = 1 - pi[r]
    return D

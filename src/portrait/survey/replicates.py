"""Replicate weights: Rao–Wu rescaled bootstrap, JK1 and JKn jackknives, and the replicate variance.

Rao–Wu rescaled bootstrap (default; ``m_h = n_h − 1`` PSUs drawn with replacement in each stratum,
factor ``1 − λ + λ (n_h/m_h) r_hi`` with ``λ = sqrt(m_h (1 − f_h)/(n_h − 1))``, which is R's
``subbootstrap`` when ``f_h = 0``), delete-one-PSU jackknife JK1 (unstratified) and JKn
(stratified). Variance ``scale Σ_r rscale_r (θ_r − θ̄)²`` as in R ``svrVar``. The design keeps the
design-stage factors; :meth:`~portrait.survey.Design.replicate_weights` re-runs the whole
weighting recipe on each replicate.

References
----------
Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data. *JASA* 83,
231–241.
Rao, J. N. K., Wu, C. F. J. and Yue, K. (1992). Some recent work on resampling methods for
complex surveys. *Survey Methodology* 18, 209–217.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""


from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from .design import Design
from .errors import ParameterError
from .labels import level_name, stable_order

# ============================================================================ replicates


def replicate_factors(design: Design, method: str = "bootstrap", replicates: int = 500,
                      rng: np.random.Generator | None = None, *, fay_rho: float | None = None,
                      hadamard: np.ndarray | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Compute design-stage replicate factors ``n × R`` with the variance ``scale`` and ``rscales``.

    Methods: ``bootstrap`` (Rao–Wu rescaled, ``m_h = n_h − 1`` PSUs drawn with replacement per stratum,
    factor ``1 − λ + λ (n_h/m_h) r_hi`` with ``λ = sqrt(m_h (1 − f_h)/(n_h − 1))``: R
    ``as.svrepdesign(type = "subbootstrap")`` when ``f_h = 0``), ``jk1`` (delete one PSU, one stratum:
    R ``type = "JK1"``), ``jkn`` (delete one PSU within its stratum: R ``type = "JKn"``), ``brr`` (balanced half
    samples of a design with two PSUs per stratum: R ``type = "BRR"``) and ``fay`` (Fay's variant, the half samples
    weighted ``2 − ρ`` and ``ρ``: R ``type = "Fay"``; see :func:`brr_factors`). Single-PSU strata
    follow the design's ``lonely_psu`` as R's ``jknweights`` does, with one deliberate difference: under
    ``"average"`` R also scales the variance by the replicates a stratum sampled with certainty drops (P / kept,
    even with no lonely stratum, where its JKn SE then exceeds its own linearised one); here only lonely strata
    count, and a certainty stratum contributes nothing, as in linearisation. A multistage design's replicates use its first
    stage only, with a warning, as R ``as.svrepdesign`` (« Finite population corrections after first stage have
    been dropped »).

    Parameters
    ----------
    design : Design
        The design (PSUs, strata, fpc, ``lonely_psu``).
    method : {"bootstrap", "jk1", "jkn", "brr", "fay"}, default "bootstrap"
        Replication method (R's spellings « subbootstrap », « JK1 », « JKn », « BRR » and « Fay » too).
    replicates : int, default 500
        Number of bootstrap replicates (the jackknives have one per PSU, BRR one per column of its Hadamard matrix).
    rng : numpy.random.Generator, optional
        Random generator; required for the bootstrap.
    fay_rho : float, optional
        Fay's ρ, in [0, 1): required by ``fay``; with ``brr``, a positive ρ makes it Fay's, as R's ``fay.rho`` does.
    hadamard : array_like, optional
        The Hadamard matrix of ``brr`` and ``fay`` (see :func:`brr_factors`).

    Returns
    -------
    factors : numpy.ndarray
        ``n × R`` factors multiplying the design weights.
    scale : float
        Overall variance multiplier (``1/(R − 1)`` for the bootstrap, ``(P − 1)/P (1 − f)`` for JK1).
    rscales : numpy.ndarray
        Per-replicate multipliers (``(n_h − 1)/n_h (1 − f_h)`` for JKn, ones otherwise).

    Raises
    ------
    ParameterError
        If a stratum has a single PSU and ``lonely_psu`` is ``"fail"`` (or ``"adjust"``/``"average"``
        with the bootstrap), the bootstrap has no ``rng``, JK1 is asked of a stratified design, JKn, BRR or
        Fay of an unstratified one (as R), the method is unknown, the design has ``pps`` (without replacement), ``fay`` comes without ``fay_rho``, or as
        :func:`brr_factors`.

    References
    ----------
    Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data. *Journal of
    the American Statistical Association* 83, 231–241.
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
    """
    method = _method(method)
    if design.pps is not None:
        raise ParameterError("replicate weights of a PPS design without replacement (pps=) are not available: "
                             "its variance is the design's approximation (linearisation)")
    if design.later_stages is not None:
        warnings.warn("replicate factors use the first stage only: the later stages' finite-population "
                      "corrections are dropped (as R as.svrepdesign)", UserWarning, stacklevel=2)
    if method in ("jkn", "brr", "fay") and not design.stratified:
        raise ParameterError(f"replicate method {method!r} needs strata (it deletes or pairs PSUs within each): this "
                             "design has none; use 'jk1' or 'bootstrap' (as R: « Must use JK1 or bootstrap for an "
                             "unstratified design »)")
    if fay_rho is not None and method not in ("brr", "fay"):
        raise ParameterError(f"fay_rho is for the BRR and Fay methods, not {method!r}")
    if method == "fay" and fay_rho is None:
        raise ParameterError("Fay's method needs fay_rho, in [0, 1) (R's fay.rho; 0.5 is common)")
    if method in ("brr", "fay"):
        return brr_factors(design, fay_rho or 0.0, hadamard)
    P, psu_idx = _dense_codes(design.psu)
    psu_stratum = np.zeros(P, dtype=int)
    psu_stratum[psu_idx] = design.strata
    psu_f = np.zeros(P)
    psu_f[psu_idx] = design.fpc
    strata, members = _strata_members(psu_stratum)
    lonely = design.lonely_psu
    singles = [h for h, idx in zip(strata, members) if len(idx) == 1 and psu_f[idx[0]] < 1]
    if singles and lonely == "fail":
        label = design.strata_labels[singles[0]] if design.strata_labels is not None else singles[0]
        raise ParameterError(f"stratum {label!r} has a single PSU: replicates cannot estimate its variance; merge "
                             "it with a similar stratum or choose the design's lonely_psu")
    if method == "bootstrap":
        if singles and lonely in ("adjust", "average"):
            raise ParameterError(f"lonely_psu={lonely!r} is not defined for the bootstrap (nor in R): use "
                                 "'certainty' or 'remove', or the jkn jackknife, or linearisation")
        if rng is None:
            raise ParameterError("the bootstrap needs a random generator (numpy.random.Generator)")
        if not (isinstance(replicates, (int, np.integer)) and replicates >= 2):
            raise ParameterError(f"the bootstrap needs at least 2 replicates (its variance divides by R − 1), got "
                                 f"{replicates!r}")
        F = np.ones((P, replicates))
        for idx in members:
            nh = len(idx)
            if nh < 2:
                continue   # certainty PSU, or lonely PSU treated as certainty / removed: no first-stage variance
            m = nh - 1
            lam = np.sqrt(m * (1 - psu_f[idx[0]]) / (nh - 1))
            F[idx] = 1 - lam + lam * (nh / m) * _resample_counts(rng, nh, m, replicates)
        # every unit its own PSU, in the order of the codes (a design of units): the PSUs' rows are the units'
        own = len(psu_idx) == P and np.array_equal(psu_idx, np.arange(P))
        return F if own else F[psu_idx], 1.0 / (replicates - 1), np.ones(replicates)
    if method == "jk1":
        if len(strata) > 1:
            raise ParameterError("JK1 is for unstratified designs; use method='jkn'")
        F = np.full((P, P), P / (P - 1.0))
        np.fill_diagonal(F, 0.0)
        f = psu_f[0]
        return F[psu_idx], (P - 1) / P * (1 - f), np.ones(P)
    if method == "jkn":
        F = np.ones((P, P))
        rscales = np.ones(P)
        H = len(strata)
        of = dict(zip(strata.tolist(), members))
        for r in range(P):
            h = psu_stratum[r]
            idx = of[int(h)]
            nh = len(idx)
            if nh < 2:
                rscales[r] = 0.0
                if h in singles and lonely == "adjust":      # R jknweights: one replicate drops it, the rest × H/(H−1)
                    F[:, r] = H / (H - 1.0)
                    F[r, r] = 0.0
                    rscales[r] = (H - 1) / H
                continue
            F[idx, r] = nh / (nh - 1.0)
            F[r, r] = 0.0
            rscales[r] = (nh - 1) / nh * (1 - psu_f[r])
        scale = P / (P - len(singles)) if lonely == "average" and singles else 1.0
        return F[psu_idx], scale, rscales
    raise ParameterError(f"replicate method must be bootstrap, jk1, jkn, brr or fay, got {method!r}")


def sylvester(order: int) -> np.ndarray:
    """Sylvester's Hadamard matrix of ``order`` (a power of 2) in R's 0/1 coding and order: entry ``(i, j)`` is 1
    when ``i & j`` has an even number of bits set (R ``survey::hadamard`` for the orders 4, 8 and 16)."""
    i = np.arange(order)
    both, parity = np.bitwise_and.outer(i, i), np.zeros((order, order), dtype=int)
    while both.any():
        parity ^= both & 1
        both >>= 1
    return 1 - parity


def brr_factors(design: Design, fay_rho: float = 0.0, hadamard: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, np.ndarray]:
    """Balanced repeated replication (R ``brrweights``), Fay's variant when ``fay_rho`` > 0.

    Each stratum must hold two PSUs, or an even number, split as R does into pseudo-strata of consecutive pairs
    (numbered before the two-PSU strata). Pair ``s`` (strata in R's order, their labels as text in the C locale; R in
    a UTF-8 locale collates capitals otherwise) follows row ``s + 1`` of a Hadamard matrix: in replicate ``r``, its
    first PSU (in the order of the data) gets factor ``2 − ρ`` where the entry is 1 and ``ρ`` where it is 0, its
    second PSU the other. The replicates are the matrix's columns, with scale ``1 / (R (1 − ρ)²)``. The default
    matrix is Sylvester's of the smallest order above the number of pairs that is a power of 2, at least 4: R's own
    for 1–7 and 12–15 pairs (orders 4, 8 and 16). For 8–11 pairs and from 16, R uses other matrices (orders 12, 28,
    36…) and more replicates are made here: the same variance for a linear statistic, a slightly different one
    otherwise. Pass R's ``hadamard(n)`` as ``hadamard`` (read as R writes it, 1 for +) to have R's default
    replicates; R's own ``hadamard.matrix=`` argument reads its first value as 0, which flips every half sample.
    Finite population corrections are dropped, with a warning, as R does.

    Parameters
    ----------
    design : Design
        A design with two PSUs (or an even number) in every stratum.
    fay_rho : float, default 0.0
        Fay's ρ in [0, 1): 0 is BRR itself.
    hadamard : array_like, optional
        A square Hadamard matrix (0/1 or ±1 coding) with more rows than pairs of PSUs.

    Returns
    -------
    factors : numpy.ndarray
        ``n × R`` factors multiplying the design weights.
    scale : float
        ``1 / (R (1 − ρ)²)``.
    rscales : numpy.ndarray
        Ones.

    Raises
    ------
    ParameterError
        If a stratum holds an odd number of PSUs, ``fay_rho`` is outside [0, 1), or ``hadamard`` is not a square
        Hadamard matrix with more rows than pairs.

    References
    ----------
    McCarthy, P. J. (1969). Pseudo-replication: half samples. *Review of the International Statistical Institute*
    37, 239–264.
    Judkins, D. R. (1990). Fay's method for variance estimation. *Journal of Official Statistics* 6, 223–239.
    """
    if not 0 <= fay_rho < 1:
        raise ParameterError(f"Fay's rho must be in [0, 1), got {fay_rho!r}")
    codes, first, psu_idx = np.unique(design.psu, return_index=True, return_inverse=True)
    psu_stratum = design.strata[first]
    labels = design.strata_labels if design.strata_labels is not None else np.unique(design.strata)
    text = {h: level_name(labels[h]) for h in np.unique(psu_stratum)}
    strata = sorted(text, key=text.get)
    members = {h: np.flatnonzero(psu_stratum == h)[np.argsort(first[psu_stratum == h], kind="stable")]
               for h in strata}
    odd = [h for h in strata if len(members[h]) % 2 or len(members[h]) == 0]
    if odd:
        raise ParameterError(f"BRR needs two PSUs in every stratum (or an even number, split in pairs as R does): "
                             f"stratum {text[odd[0]]!r} has {len(members[odd[0]])} ({len(odd)} such strata); use "
                             "method='jkn' or 'bootstrap', or merge strata")
    if np.any(design.fpc > 0):
        warnings.warn("BRR drops the finite population corrections (as R as.svrepdesign)", UserWarning, stacklevel=3)
    # R's brrweights: a stratum of 2k PSUs is k pseudo-strata of consecutive pairs, numbered before the others
    pairs = [members[h][i:i + 2] for h in strata if len(members[h]) > 2 for i in range(0, len(members[h]), 2)]
    pairs += [members[h] for h in strata if len(members[h]) == 2]
    H = sylvester(max(4, 1 << len(pairs).bit_length())) if hadamard is None else _hadamard01(hadamard, len(pairs))
    F = np.empty((len(codes), H.shape[1]))
    for s, (one, two) in enumerate(pairs):
        F[one] = np.where(H[s + 1] == 1, 2 - fay_rho, fay_rho)
        F[two] = 2 - F[one]
    return F[psu_idx], 1.0 / (H.shape[1] * (1 - fay_rho) ** 2), np.ones(H.shape[1])


def _hadamard01(matrix: np.ndarray, strata: int) -> np.ndarray:
    """A Hadamard matrix given by the user, as 0/1 (its larger value read as 1: R's ``hadamard()`` writes 0/1, a
    ±1 matrix has +1), checked."""
    H = np.asarray(matrix)
    values = np.unique(H)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or len(values) != 2 or H.shape[0] <= strata:
        raise ParameterError(f"hadamard must be a square matrix of two values with more than {strata} rows (one per "
                             "stratum, or pair of PSUs, and one more)")
    signs = np.where(H == values[1], 1.0, -1.0)
    if not np.allclose(signs.T @ signs, H.shape[0] * np.eye(H.shape[1])):
        raise ParameterError("hadamard is not a Hadamard matrix (its columns are not orthogonal)")
    return (H == values[1]).astype(int)


def _strata_members(psu_stratum: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The strata present (``np.unique(psu_stratum)``) and the PSUs of each in increasing order (``np.flatnonzero(
    psu_stratum == h)``), from one stable sort of the PSUs by stratum rather than a pass over every PSU per stratum
    (many small strata, such as one per self-representing PSU, in each replication of a simulation)."""
    if not len(psu_stratum):
        return psu_stratum[:0], []
    lo = int(psu_stratum.min())
    order = stable_order(psu_stratum - lo, int(psu_stratum.max()) - lo + 1)
    ordered = psu_stratum[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    return ordered[starts], np.split(order, starts[1:])


def _dense_codes(codes: np.ndarray) -> tuple[int, np.ndarray]:
    """The number of distinct codes and each unit's rank among them (``np.unique``'s inverse): the codes themselves
    when they are 0, 1, …, P − 1 each used (a design's PSU codes), counted instead of sorted."""
    codes = np.asarray(codes)
    if codes.dtype.kind in "iu" and len(codes) and 0 <= codes.min() and codes.max() < 2 * len(codes):
        counts = np.bincount(codes)
        if counts.all():
            return len(counts), codes
    distinct, inverse = np.unique(codes, return_inverse=True)
    return len(distinct), inverse.ravel()


def _resample_counts(rng: np.random.Generator, n: int, m: int, replicates: int) -> np.ndarray:
    """How often each of ``n`` PSUs is drawn when ``m`` are drawn with replacement and equal probabilities, in each
    replicate (``n × R``): each replicate's ``m`` draws, then their counts, the multinomial ``(m; 1/n, …, 1/n)`` of
    Rao–Wu by its definition. numpy's multinomial draws a binomial per PSU and replicate, six times slower for
    strata of thousands of PSUs."""
    drawn = rng.integers(0, n, size=(replicates, m)) + (np.arange(replicates) * n)[:, None]
    return np.bincount(drawn.ravel(), minlength=replicates * n).reshape(replicates, n).T


def _method(method: object) -> object:
    """A method as R spells it (« JK1 », « JKn », « subbootstrap », « BRR », « Fay ») is the engine's."""
    if not isinstance(method, str):
        return method
    return "bootstrap" if method.lower() == "subbootstrap" else method.lower()


def with_replicates(design: Design, method: str = "bootstrap", replicates: int = 500,
                    rng: np.random.Generator | None = None, *, factors: np.ndarray | None = None,
                    scale: float | None = None, rscales: np.ndarray | None = None,
                    mse: bool = False, fay_rho: float | None = None, hadamard: np.ndarray | None = None) -> Design:
    """Attach replicate factors to a design (before or after weighting: the recipe is re-run).

    Like R ``as.svrepdesign``, except that replicate weights are never frozen: each replicate's weights
    are the design's whole weighting recipe (non-response adjustment, calibration, trimming) re-run
    from ``base_weights × factors``, whether the steps come before or after this call.
    ``factors`` (``n × R``) with ``scale``/``rscales`` may be given directly, e.g. to reproduce
    replicate weights exported from R.

    Parameters
    ----------
    design : Design
        The design.
    method : {"bootstrap", "jk1", "jkn", "brr", "fay"}, default "bootstrap"
        Replication method (see :func:`replicate_factors`); with ``factors``, only a label.
    replicates : int, default 500
        Number of bootstrap replicates.
    rng : numpy.random.Generator, optional
        Random generator; required for the bootstrap unless ``factors`` is given.
    factors : array_like, optional
        Ready-made ``n × R`` design-stage factors.
    scale : float, optional
        Variance scale of ``factors`` (required with them).
    rscales : array_like, optional
        Per-replicate scales of ``factors`` (default 1).
    mse : bool, default False
        Centre replicate deviations on the full-sample estimate.
    fay_rho : float, optional
        Fay's ρ (required by ``fay``; see :func:`replicate_factors`).
    hadamard : array_like, optional
        The Hadamard matrix of ``brr`` and ``fay`` (default Sylvester's; see :func:`brr_factors`).

    Returns
    -------
    Design
        The design with ``replicate_factors`` and the variance scales set.

    Raises
    ------
    ParameterError
        If ``factors`` has not one row per unit or comes without ``scale``, or as
        :func:`replicate_factors`.

    References
    ----------
    Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data. *Journal of
    the American Statistical Association* 83, 231–241.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``as.svrepdesign``)

    Examples
    --------
    >>> d = with_replicates(d, "bootstrap", 500, np.random.default_rng(1))  # doctest: +SKIP
    """
    method = _method(method)
    if factors is None:
        factors, scale, rscales = replicate_factors(design, method, replicates, rng, fay_rho=fay_rho, hadamard=hadamard)
    else:
        factors = np.asarray(factors, dtype=float)
        if factors.shape[0] != len(design.weights):
            raise ParameterError("replicate factors need one row per unit")
        if scale is None:
            raise ParameterError("give the variance scale of the replicate factors")
        rscales = np.ones(factors.shape[1]) if rscales is None else np.asarray(rscales, dtype=float)
        if rscales.shape != (factors.shape[1],):
            raise ParameterError(f"rscales must have one value per replicate: {rscales.size} for "
                                 f"{factors.shape[1]} replicates")
    return replace(design, replicate_factors=factors, replicate_scale=float(scale),
                   replicate_rscales=rscales, replicate_mse=mse, replicate_method=method)


def _variance_without(theta, thetas, scale, rscales, mse, blocks, undefined) -> np.ndarray:
    """:func:`replicate_variance` leaving out, estimate by estimate, the replicates where it is NaN (R ``svrVar``)."""
    warnings.warn(f"{int(undefined.any(axis=1).sum())} of {len(thetas)} replicates gave no value for an estimate (a "
                  "domain without weight in them) and are left out of its variance, as R's svrVar discards them",
                  UserWarning, stacklevel=3)
    q = thetas.shape[1]
    V = np.full((q, q), np.nan)
    for i in range(q):
        for j in range(i, q):
            ok = ~undefined[:, i] & ~undefined[:, j]
            if ok.any() and (rscales[ok] > 0).any():
                th = thetas[ok][:, [i, j]]
                V[i, j] = V[j, i] = replicate_variance(np.asarray(theta, dtype=float).reshape(-1)[[i, j]], th, scale,
                                                       rscales[ok], mse, None if blocks is None else
                                                       np.asarray(blocks)[ok])[0, 1]
    return V


def replicate_variance(theta: np.ndarray, thetas: np.ndarray, scale: float, rscales: np.ndarray,
                       mse: bool = False, blocks: np.ndarray | None = None) -> np.ndarray:
    """Compute ``scale Σ_r rscale_r (θ_r − c)(θ_r − c)'`` with ``c`` the replicates' mean (or θ if ``mse``).

    The mean ``c`` is taken over replicates with a positive ``rscale``, as R ``svrVar``. ``blocks``
    labels the replicates of independent surveys stacked together: each block is centred on its own
    mean, so the variance is the sum of the surveys' variances. A replicate whose estimate is NaN (a domain
    without weight in it) is left out of that estimate's variance, with a warning, as R ``svrVar`` discards it
    (``scale`` unchanged), estimate by estimate as ``svyby`` runs each domain alone; a covariance uses the
    replicates where both estimates are defined. R drops such a replicate from every estimate of one call: the
    two differ only for estimates of one domain undefined in different replicates.

    Parameters
    ----------
    theta : array_like
        Full-sample estimate(s), length ``q`` (used only with ``mse``).
    thetas : array_like
        Replicate estimates, ``R × q`` (or length ``R`` for one estimate).
    scale : float
        Overall variance multiplier.
    rscales : array_like
        Per-replicate multipliers, length ``R``.
    mse : bool, default False
        Centre on ``theta`` instead of the replicates' mean.
    blocks : array_like, optional
        Block label of each replicate (length ``R``).

    Returns
    -------
    numpy.ndarray
        The ``q × q`` covariance matrix.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
    """
    thetas = np.asarray(thetas, dtype=float)
    if thetas.ndim == 1:
        thetas = thetas[:, None]
    rscales = np.asarray(rscales, dtype=float)
    undefined = np.isnan(thetas) & ~np.isnan(np.asarray(theta, dtype=float).reshape(-1))[None, :thetas.shape[1]]
    if undefined.any():
        return _variance_without(theta, thetas, scale, rscales, mse, blocks, undefined)
    if mse:
        centre = np.broadcast_to(np.asarray(theta, dtype=float), thetas.shape)
    elif blocks is None:
        centre = np.broadcast_to(thetas[rscales > 0].mean(axis=0), thetas.shape)
    else:
        blocks = np.asarray(blocks)
        centre = np.empty_like(thetas)
        for b in np.unique(blocks):
            sel = blocks == b
            centre[sel] = thetas[sel & (rscales > 0)].mean(axis=0)
    D = (thetas - centre) * np.sqrt(rscales)[:, None]
    return scale * D.T @ D

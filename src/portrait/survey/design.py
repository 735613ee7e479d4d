"""The survey design object: data, weights, strata, PSUs, fpc, and the history of weighting steps.

A :class:`Design` is built once and never modified: every weighting step
(:func:`portrait.survey.adjust_nonresponse`, :func:`portrait.survey.calibrate`,
:func:`portrait.survey.trim`) returns a new design with the step appended to its history, so
that replicate weights can re-run the whole recipe and the linearised variance can use the
calibration residuals (as R ``survey`` does).

Units with weight 0 (non-respondents after a non-response adjustment) stay in the design: they
belong to the sample's PSUs and strata, which the variance needs, and contribute nothing to
estimates.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (design objects, the
ultimate-cluster variance estimator, ``svydesign(id=, strata=, weights=, fpc=)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError


@dataclass(frozen=True)
class Step:
    """One weighting step of the recipe.

    ``apply(design_with_input_weights) -> (output_weights, info)`` re-runs the step on other
    input weights (a replicate); ``X`` and ``d`` (input weights) are kept for calibration steps so
    the linearised variance can take residuals on ``X`` with weights ``d``.
    """

    kind: str
    label: str
    apply: Callable[["Design"], tuple[np.ndarray, Any]] = field(repr=False)
    info: Any = None
    X: np.ndarray | None = field(default=None, repr=False)
    d: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Design:
    """A probability sample with its weights and structure.

    Attributes
    ----------
    data : the sampled units (respondents and, before or after a non-response adjustment,
        non-respondents with weight 0).
    weights : current weights (the design weights 1/π before any step).
    strata, psu : integer codes; every unit is its own PSU for element sampling.
    fpc : first-stage sampling fraction of each unit's stratum (0 when sampling with replacement
        or when no fpc is given).
    steps : the weighting steps applied so far, in order.
    replicate_factors : optional ``n × R`` matrix of design-stage replicate factors, with
        ``replicate_scale``, ``replicate_rscales`` and ``replicate_mse`` for the variance.
    """

    data: pd.DataFrame
    weights: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    fpc: np.ndarray
    steps: tuple[Step, ...] = ()
    base_weights: np.ndarray | None = field(default=None, repr=False)
    replicate_factors: np.ndarray | None = field(default=None, repr=False)
    replicate_scale: float = 1.0
    replicate_rscales: np.ndarray | None = field(default=None, repr=False)
    replicate_mse: bool = False
    replicate_method: str = ""
    strata_labels: np.ndarray | None = field(default=None, repr=False)
    replicate_matrix: np.ndarray | None = field(default=None, repr=False)
    replicate_blocks: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(cls, data: pd.DataFrame, *, weights: str | Sequence[float] | None = None,
                   prob: str | Sequence[float] | None = None, strata: str | None = None,
                   psu: str | None = None, fpc: str | None = None) -> "Design":
        """Build a design like R ``svydesign(id=~psu, strata=~strata, weights=~w, fpc=~fpc)``.

        ``fpc`` is, per unit, either the population number of PSUs in its stratum (> 1) or the
        sampling fraction (≤ 1), as in R; it must be constant within a stratum.
        """
        data = data.reset_index(drop=True)
        n = len(data)
        if (weights is None) == (prob is None):
            raise ParameterError("give exactly one of weights= or prob=")
        if weights is not None:
            w = np.asarray(data[weights] if isinstance(weights, str) else weights, dtype=float)
        else:
            p = np.asarray(data[prob] if isinstance(prob, str) else prob, dtype=float)
            if np.any(~np.isfinite(p)) or np.any((p <= 0) | (p > 1)):
                raise ParameterError("inclusion probabilities must lie in (0, 1]")
            w = 1.0 / p
        if len(w) != n or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ParameterError("weights must be finite, non-negative and one per unit")
        if strata is not None:
            if data[strata].isna().any():
                raise ParameterError(f"stratum variable {strata!r} has {int(data[strata].isna().sum())} "
                                     "missing values")
            labels, st = np.unique(data[strata].astype(str).to_numpy(), return_inverse=True)
        else:
            labels, st = np.array(["all"]), np.zeros(n, dtype=int)
        if psu is not None:
            if data[psu].isna().any():
                raise ParameterError(f"PSU variable {psu!r} has missing values")
            key = pd.Series(st).astype(str) + "\x1f" + data[psu].astype(str)
            _, cl = np.unique(key.to_numpy(), return_inverse=True)
        else:
            cl = np.arange(n)
        f = np.zeros(n)
        if fpc is not None:
            raw = data[fpc].to_numpy(dtype=float)
            for h in np.unique(st):
                vals = np.unique(raw[st == h])
                if len(vals) != 1:
                    raise ParameterError(f"fpc {fpc!r} varies within stratum {labels[h]!r}")
                v = vals[0]
                n_psu = len(np.unique(cl[st == h]))
                frac = v if v <= 1 else n_psu / v
                if not 0 <= frac <= 1:
                    raise ParameterError(f"stratum {labels[h]!r}: {n_psu} PSUs sampled from a population "
                                         f"of {v:g}")
                f[st == h] = frac
        return cls(data=data, weights=w, strata=st, psu=cl, fpc=f, base_weights=w,
                   strata_labels=labels)

    # ------------------------------------------------------------------ derived
    @property
    def n(self) -> int:
        """Number of units with a positive weight (respondents)."""
        return int(np.count_nonzero(self.weights))

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata, counting units with a positive weight (R ``degf``)."""
        pos = self.weights > 0
        return int(len(np.unique(self.psu[pos])) - len(np.unique(self.strata[pos])))

    def with_weights(self, weights: np.ndarray, step: Step | None = None) -> "Design":
        """A new design with other weights (and, if given, one more step in the history)."""
        steps = self.steps + ((step,) if step is not None else ())
        return replace(self, weights=np.asarray(weights, dtype=float), steps=steps)

    def column(self, name: str) -> pd.Series:
        if name not in self.data.columns:
            raise ParameterError(f"variable {name!r} is not in the survey data")
        return self.data[name]

    def replay(self, base: np.ndarray) -> np.ndarray:
        """Re-run the weighting recipe from other starting weights (for a replicate)."""
        d = replace(self, weights=np.asarray(base, dtype=float), steps=())
        for step in self.steps:
            w, _ = step.apply(d)
            d = replace(d, weights=w)
        return d.weights

    @property
    def has_replicates(self) -> bool:
        return self.replicate_factors is not None or self.replicate_matrix is not None

    def replicate_weights(self) -> np.ndarray:
        """The ``n × R`` replicate weights: the whole recipe re-run on every replicate."""
        if self.replicate_matrix is not None:
            return self.replicate_matrix
        if self.replicate_factors is None:
            raise ParameterError("this design has no replicate weights; call "
                                 "portrait.survey.with_replicates first")
        base = self.base_weights if self.base_weights is not None else self.weights
        cache = getattr(self, "_rep_cache", None)
        if cache is not None and cache[0] is self.weights:
            return cache[1]
        reps = np.empty_like(self.replicate_factors)
        for r in range(self.replicate_factors.shape[1]):
            reps[:, r] = self.replay(base * self.replicate_factors[:, r])
        object.__setattr__(self, "_rep_cache", (self.weights, reps))
        return reps

"""Output constraints such as ``power_consumption<=3000`` (limits on measured values, not on knobs)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from ..errors import OptimisationError

_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class OutputConstraint:
    """``metric op limit`` with ``op`` one of ``<=``, ``<``, ``>=``, ``>``.

    Written as ``g(x) <= 0`` (HyperPower style): :meth:`slack` is ``value - limit`` for an upper limit and
    ``limit - value`` for a lower one.
    """

    metric: str
    op: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> OutputConstraint:
        m = _PATTERN.match(str(text))
        if not m:
            raise OptimisationError(f"constraint {text!r} is not of the form NAME<=NUMBER (or <, >=, >)")
        try:
            limit = float(m.group(3))
        except ValueError:
            raise OptimisationError(f"constraint {text!r}: {m.group(3)!r} is not a number") from None
        if not math.isfinite(limit):
            raise OptimisationError(f"constraint {text!r}: the limit must be finite")
        return cls(m.group(1), m.group(2), limit)

    @property
    def upper(self) -> bool:
        return self.op in ("<=", "<")

    def slack(self, value: float) -> float:
        return value - self.limit if self.upper else self.limit - value

    def satisfied(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return {"<=": value <= self.limit, "<": value < self.limit,
                ">=": value >= self.limit, ">": value > self.limit}[self.op]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"


def parse_constraints(items) -> tuple[OutputConstraint, ...]:
    """Parse a sequence of strings or :class:`OutputConstraint` objects."""
    out = []
    for item in items or ():
        out.append(item if isinstance(item, OutputConstraint) else OutputConstraint.parse(item))
    return tuple(out)


# Relative error assumed for a model that gives no standard deviation of its predictions.
DEFAULT_REL_STD = 0.10


@dataclass(frozen=True)
class ModelConstraint:
    """An output constraint checked *before* measuring, on a model's prediction (HyperPower's a-priori test).

    ``predict(configs) -> (mean, std)`` in the output's units (``std`` NaN where the model gives none: then
    ``rel_std`` times the prediction). A configuration is rejected, never measured, when the probability
    that it meets the constraint is below ``1 - confidence`` (predictions are taken as log-normal when the
    mean and the limit are positive, as Gaussian otherwise).
    """

    constraint: OutputConstraint
    predict: Callable[[list[dict]], tuple[Sequence[float], Sequence[float]]]
    confidence: float = 0.95
    rel_std: float = DEFAULT_REL_STD
    label: str = "model"

    def probability_feasible(self, configs: list[dict]) -> np.ndarray:
        mean, std = self.predict(configs)
        mean = np.asarray(mean, dtype=float).ravel()
        std = np.asarray(std, dtype=float).ravel()
        if mean.shape[0] != len(configs) or std.shape[0] != len(configs):
            raise OptimisationError(f"constraint model {self.label!r} must give one prediction per configuration")
        if not np.all(np.isfinite(mean)):
            raise OptimisationError(f"constraint model {self.label!r} predicts a non-finite "
                                    f"{self.constraint.metric!r}")
        limit = self.constraint.limit
        rel = np.where(np.isfinite(std) & (std > 0), std / np.maximum(np.abs(mean), 1e-300), self.rel_std)
        if limit > 0 and np.all(mean > 0):
            sd = np.sqrt(np.log1p(rel ** 2))          # log-normal with that relative std
            z = (np.log(limit) - np.log(mean)) / sd
        else:
            z = (limit - mean) / np.maximum(rel * np.abs(mean), 1e-300)
        return norm.cdf(z) if self.constraint.upper else norm.sf(z)

    def rejects(self, configs: list[dict]) -> np.ndarray:
        """True for each configuration predicted infeasible with probability >= ``confidence``."""
        return self.probability_feasible(configs) < 1.0 - self.confidence

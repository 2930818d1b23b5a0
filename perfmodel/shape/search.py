"""Seed 002's Algorithm 1: tune depth and width under size, latency, energy and accuracy constraints.

1. Enumerate the design space; drop shapes larger than ``max_size_bytes`` (exact, from the shape alone).
2. Get latency (and energy) from a cost predictor; drop shapes slower than ``max_latency_s``, then those
   using more than ``max_energy_j``.
3. Train the shapes chosen by the modelling + sampling strategies; fit the accuracy model on them;
   predict the accuracy of the others; drop shapes predicted below ``min_accuracy``.
4. Without a goal, return the surviving shapes. With a goal, order them by it and train the best; if its
   trained accuracy misses ``min_accuracy``, fall back to the next one (Algorithm 1's loop).

Trainings are counted against exhaustive search: training every shape left after the non-functional
filters (Shape_DNN's "speedup").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from profiling.atomic import atomic_write

from ..errors import ConfigError, DataError, OptimisationError
from . import strategies as st
from .accuracy import InversePolynomialAccuracy
from .generator import build, size_bytes
from .space import Shape, ShapeSpace

__all__ = ["Constraints", "SearchResult", "shape_search", "GOALS"]

GOALS = ("accuracy", "latency", "energy", "size")
RESULT_FORMAT = "perfmodel.ShapeSearch"


@dataclass(frozen=True)
class Constraints:
    """Requirements on a shape; ``None`` means unconstrained."""

    max_size_bytes: float | None = None
    max_latency_s: float | None = None
    max_energy_j: float | None = None
    min_accuracy: float | None = None

    def __post_init__(self) -> None:
        for k, v in self.__dict__.items():
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
                raise ConfigError(f"constraint {k} must be a positive number, got {v!r}")
        if self.min_accuracy is not None and self.min_accuracy > 1:
            raise ConfigError(f"min_accuracy is a fraction in (0, 1], got {self.min_accuracy}")


@dataclass
class SearchResult:
    """Outcome of :func:`shape_search`.

    ``table`` has one row per shape of the design space: ``depth, width, params, size_bytes, runtime_s,
    energy_j, predicted_accuracy, trained_accuracy, sampled, verified, dropped_by``.
    """

    table: pd.DataFrame
    chosen: Shape | None
    goal: str | None
    constraints: Constraints
    cost_source: str
    n_space: int
    n_exhaustive: int
    n_trained: int
    train_time_s: float
    accuracy_model: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def trainings_avoided(self) -> int:
        return self.n_exhaustive - self.n_trained

    @property
    def speedup(self) -> float:
        return self.n_exhaustive / self.n_trained if self.n_trained else math.inf

    @property
    def feasible(self) -> pd.DataFrame:
        return self.table[self.table["dropped_by"] == ""]

    def chosen_row(self) -> dict | None:
        if self.chosen is None:
            return None
        t = self.table
        row = t[(t["depth"] == self.chosen.depth) & (t["width_f"] == float(self.chosen.width))]
        return _clean(row.iloc[0].to_dict())

    def to_dict(self) -> dict:
        return {
            "format": RESULT_FORMAT, "version": 1, "goal": self.goal,
            "constraints": self.constraints.__dict__, "cost_source": self.cost_source,
            "accuracy_source": "trained:digits (predicted by Shape_DNN's inverse-polynomial regression)",
            "chosen": self.chosen_row(), "n_space": self.n_space, "n_exhaustive": self.n_exhaustive,
            "n_trained": self.n_trained, "trainings_avoided": self.trainings_avoided,
            "speedup": self.speedup, "train_time_s": self.train_time_s,
            "accuracy_model": self.accuracy_model, "notes": self.notes,
            "shapes": [_clean(r) for r in self.table.to_dict("records")],
        }

    def to_json(self, path: str | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path:
            atomic_write(path, text + "\n", error=DataError, what="result file")
        return text


def _clean(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, float)):
            v = None if not math.isfinite(float(v)) else float(v)
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.bool_):
            v = bool(v)
        out[k] = v
    return out


def shape_search(space: ShapeSpace, trainer: Callable[[Shape], dict], costs: Any | None = None, *,
                 constraints: Constraints = Constraints(), goal: str | None = "accuracy",
                 modelling: str = "standard", sampling: str = "interval", ridge_alpha: float = 1.0,
                 input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10, seed: int = 0,
                 max_verifications: int | None = None, measure: Any | None = None,
                 progress: bool = False) -> SearchResult:
    """Run Shape_DNN's Algorithm 1 over ``space``.

    Parameters
    ----------
    space : ShapeSpace
    trainer : callable
        ``trainer(shape) -> {"accuracy": float, "train_time_s": float, ...}`` (e.g.
        :class:`~perfmodel.shape.training.DigitsTrainer`); it must cache results per shape.
    costs : CostPredictor, optional
        Latency/energy source. Needed when a latency/energy constraint or goal is given.
    constraints : Constraints
    goal : {"accuracy", "latency", "energy", "size"} or None
        Without a goal, the shapes meeting every constraint are returned (``chosen`` is None).
    modelling, sampling : str
        See :mod:`perfmodel.shape.strategies`.
    ridge_alpha : float
        ``alpha`` of :class:`~perfmodel.shape.accuracy.InversePolynomialAccuracy`; 0 is the seed's ordinary
        least squares. The default 1.0 (ridge on standardised features) predicted untrained shapes of the
        digits benchmark better whenever fewer than ten shapes were trained (docs/design.md).
    max_verifications : int, optional
        Stop the fallback loop after this many extra trainings.
    measure : CostPredictor, optional
        Measures the chosen shape (e.g. :class:`~perfmodel.shape.costs.MeasuredCosts` when ``costs`` are
        predictions); stored as ``measured_runtime_s`` / ``measured_energy_j``.

    Raises
    ------
    OptimisationError
        When a constraint removes every remaining shape (the message names it), or no trained shape
        reaches ``min_accuracy``.
    """
    if goal is not None and goal not in GOALS:
        raise ConfigError(f"unknown goal {goal!r}; choose one of {', '.join(GOALS)}")
    if not (isinstance(ridge_alpha, (int, float)) and math.isfinite(ridge_alpha) and ridge_alpha >= 0):
        # checked before any shape is trained, not by the accuracy model's fit after them
        raise ConfigError(f"ridge_alpha must be a finite number >= 0, got {ridge_alpha!r}", param="ridge_alpha")
    need_latency = constraints.max_latency_s is not None or goal == "latency"
    need_energy = constraints.max_energy_j is not None or goal == "energy"
    if (need_latency or need_energy) and costs is None:
        raise ConfigError("a latency or energy constraint/goal needs a cost predictor (measured, or a layer-wise "
                          "model file)", param="model")
    notes: list[str] = []
    shapes = space.shapes()
    rows = {s: {"depth": s.depth, "width": _wstr(s), "width_f": float(s.width),
                "params": size_bytes(s, input_shape, num_classes, 1),
                "size_bytes": size_bytes(s, input_shape, num_classes), "runtime_s": np.nan, "energy_j": np.nan,
                "predicted_accuracy": np.nan, "trained_accuracy": np.nan, "measured_runtime_s": np.nan, "measured_energy_j": np.nan, "sampled": False, "verified": False,
                "dropped_by": ""} for s in shapes}

    def drop(alive: list[Shape], key: str, limit: float | None, name: str, unit: str, scale: float = 1.0):
        if limit is None:
            return alive
        keep = [s for s in alive if rows[s][key] <= limit]
        for s in alive:
            if s not in keep:
                rows[s]["dropped_by"] = name
        if not keep:
            best = min(alive, key=lambda s: rows[s][key])
            raise OptimisationError(
                f"no shape meets {name} <= {limit * scale:g} {unit}: the best, {best.label()}, has "
                f"{rows[best][key] * scale:.4g} {unit} ({len(alive)} shapes were left before this constraint)")
        return keep

    alive = drop(shapes, "size_bytes", constraints.max_size_bytes, "max_size", "KB", 1e-3)
    cost_nets = {}
    if need_latency or need_energy:
        it = _progress(alive, progress, "costs")
        for s in it:
            net = build(s, input_shape, num_classes)
            c = costs.predict_costs(net)
            rows[s]["runtime_s"] = c.get("runtime_s", np.nan)
            rows[s]["energy_j"] = np.nan if c.get("energy_j") is None else c["energy_j"]
            cost_nets[s] = True
        alive = drop(alive, "runtime_s", constraints.max_latency_s, "max_latency", "ms", 1e3)
        if need_energy:
            if any(not np.isfinite(rows[s]["energy_j"]) for s in alive):
                raise OptimisationError(
                    f"an energy constraint or goal needs energy, but the cost source {costs.source!r} gives "
                    "none (no power sensor here); give a layer-wise model file", param="model")
            alive = drop(alive, "energy_j", constraints.max_energy_j, "max_energy", "J")

    n_exhaustive = len(alive)
    m = st.n_to_train(n_exhaustive, modelling)
    chosen_for_model = st.select(alive, m, sampling, seed)
    t_train = 0.0
    trained: dict[Shape, float] = {}

    def train(s: Shape) -> float:
        nonlocal t_train
        out = trainer(s)
        if not out.get("cached"):
            t_train += float(out.get("train_time_s", 0.0))
        trained[s] = float(out["accuracy"])
        rows[s]["trained_accuracy"] = trained[s]
        return trained[s]

    for s in _progress(chosen_for_model, progress, "train (model)"):
        train(s)
        rows[s]["sampled"] = True
    model = InversePolynomialAccuracy(alpha=ridge_alpha)
    X = np.array([[s.depth, float(s.width)] for s in chosen_for_model])
    model.fit(X, [trained[s] for s in chosen_for_model])
    pred = model.predict(np.array([[s.depth, float(s.width)] for s in alive]))
    for s, p in zip(alive, pred):
        rows[s]["predicted_accuracy"] = float(p)
    fit_resid = model.predict(X) - np.array([trained[s] for s in chosen_for_model])
    acc_info = {"kind": "InversePolynomialAccuracy", "alpha": ridge_alpha, "n_trained": len(chosen_for_model),
                "train_rmse": float(np.sqrt(np.mean(fit_resid**2))), "modelling": modelling, "sampling": sampling,
                "coef": model.coef_.tolist(), "intercept": model.intercept_}
    if len(chosen_for_model) < 10:
        notes.append(f"accuracy model fitted on {len(chosen_for_model)} shapes for 10 coefficients "
                     f"({'minimum-norm least squares' if ridge_alpha == 0 else 'ridge'})")

    if constraints.min_accuracy is not None:
        before = list(alive)
        keep = [s for s in alive if rows[s]["predicted_accuracy"] >= constraints.min_accuracy]
        for s in alive:
            if s not in keep:
                rows[s]["dropped_by"] = "min_accuracy (predicted)"
        if not keep:
            best = max(before, key=lambda s: rows[s]["predicted_accuracy"])
            raise OptimisationError(
                f"no shape is predicted to meet min_accuracy >= {constraints.min_accuracy:g}: the best "
                f"prediction is {rows[best]['predicted_accuracy']:.4f} for {best.label()}")
        alive = keep

    chosen = None
    if goal is not None:
        key = {"accuracy": lambda s: -rows[s]["predicted_accuracy"], "latency": lambda s: rows[s]["runtime_s"],
               "energy": lambda s: rows[s]["energy_j"], "size": lambda s: rows[s]["size_bytes"]}[goal]
        ordered = sorted(alive, key=lambda s: (key(s), s.depth, s.width))
        extra = 0
        for s in ordered:
            if s not in trained:
                if max_verifications is not None and extra >= max_verifications:
                    break
                extra += 1
            acc = train(s)
            rows[s]["verified"] = True
            if constraints.min_accuracy is not None and acc < constraints.min_accuracy:
                notes.append(f"{s.label()} trained to {acc:.4f} < min_accuracy {constraints.min_accuracy:g}; "
                             "falling back to the next shape")
                continue
            chosen = s
            break
        if chosen is None:
            raise OptimisationError(
                f"no trained shape meets min_accuracy >= {constraints.min_accuracy:g} "
                f"(verified {sum(r['verified'] for r in rows.values())} of {len(ordered)} candidates)")
        if costs is not None and chosen not in cost_nets:
            c = costs.predict_costs(build(chosen, input_shape, num_classes))
            rows[chosen]["runtime_s"] = c.get("runtime_s", np.nan)
            rows[chosen]["energy_j"] = np.nan if c.get("energy_j") is None else c["energy_j"]
        if measure is not None:
            c = measure.predict_costs(build(chosen, input_shape, num_classes))
            rows[chosen]["measured_runtime_s"] = c.get("runtime_s", np.nan)
            rows[chosen]["measured_energy_j"] = np.nan if c.get("energy_j") is None else c["energy_j"]

    table = pd.DataFrame(list(rows.values()))
    return SearchResult(table, chosen, goal, constraints, costs.source if costs is not None else "none",
                        len(shapes), n_exhaustive, len(trained), t_train, acc_info, notes)


def _wstr(s: Shape) -> str:
    w = s.width
    return str(w.numerator) if w.denominator == 1 else f"{w.numerator}/{w.denominator}"


def _progress(items, on: bool, desc: str):
    if not on:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, leave=False)

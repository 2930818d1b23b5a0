"""Fitted models as the surrogate's prior mean and as a-priori constraints (model-guided optimisation).

* :class:`ModelPrior` wraps a fitted :class:`~perfmodel.models.config_model.ConfigModel` (one target, the
  knobs of a table) or a :class:`~perfmodel.models.layerwise.LayerwisePredictor` with a network
  (``runtime_s``, ``power_w``, ``energy_j``) as ``f(configs) -> values`` per output it predicts, after
  checking that its knobs are the space's.
* :func:`prior_from_results` fits such a model on an earlier study's evaluations (transfer: a study on
  another input size, network or board warm-starts this one).

The BO surrogate learns how much to trust each prior (:class:`~perfmodel.optimisation.gp.GPSurrogate`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from profiling.encoding import log_scaled
from profiling.space import ConfigSpace

from ..errors import OptimisationError
from .constraints import DEFAULT_REL_STD, ModelConstraint, OutputConstraint

LAYERWISE_OUTPUTS = ("runtime_s", "power_w", "energy_j")


class ModelPrior:
    """A fitted model as a predictor of some outputs over a configuration space.

    Parameters
    ----------
    model : ConfigModel or LayerwisePredictor
    space : ConfigSpace
        The model's knobs must be the space's knobs (a layer-wise model may know more knobs than the space
        varies: those keep its defaults).
    network : NetworkSpec, optional
        Required for a layer-wise model: the network whose configurations are predicted.
    label : str
        Where the model comes from (its file), for messages.
    """

    def __init__(self, model, space: ConfigSpace, network=None, label: str = "model"):
        from ..models.config_model import ConfigModel
        from ..models.layerwise import LayerwisePredictor

        self.model, self.space, self.network, self.label = model, space, network, label
        names = list(space.names)
        if isinstance(model, ConfigModel):
            self.kind = "config"
            self.targets = (str(model.target),)
            known = set(model.knobs)
            missing = [k for k in model.knobs if k not in names]
            extra = [k for k in names if k not in known]
            if missing or extra:
                raise OptimisationError(
                    f"prior model {label!r} does not match the space: "
                    + (f"it needs knob(s) {', '.join(missing)} the space lacks" if missing else "")
                    + ("; " if missing and extra else "")
                    + (f"it does not know knob(s) {', '.join(extra)}" if extra else ""))
            for e in model.encoding_:
                low = _lowest(space[e["name"]]) if e.get("log") and e["name"] in names else None
                if low is not None and low <= 0:
                    raise OptimisationError(
                        f"prior model {label!r} takes the logarithm of knob {e['name']!r}, which the space lets "
                        f"reach {low}: fit it without log-scaled knobs")
        elif isinstance(model, LayerwisePredictor):
            self.kind = "layerwise"
            if network is None:
                raise OptimisationError(f"prior model {label!r} is layer-wise: it needs a network to predict")
            self.targets = LAYERWISE_OUTPUTS if getattr(model, "has_power_", False) else ("runtime_s",)
            known = {"batch", *getattr(model.knobs_, "knobs", [])}
            extra = [k for k in names if k not in known]
            if extra:
                raise OptimisationError(f"prior model {label!r} does not match the space: it does not know "
                                        f"knob(s) {', '.join(extra)}")
        else:
            raise OptimisationError(f"{label!r} is a {type(model).__name__}; a prior must be a configuration "
                                    "model or a layer-wise model")

    def predict(self, target: str, configs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ``target`` (and its std, NaN where the model gives none) of each configuration."""
        if target not in self.targets:
            raise OptimisationError(f"prior model {self.label!r} predicts {', '.join(self.targets)}, "
                                    f"not {target!r}")
        if not configs:
            return np.empty(0), np.empty(0)
        frame = pd.DataFrame([dict(c) for c in configs])
        if self.kind == "config":
            mean, std = self.model.predict(frame, return_std=True, source=f"prior {self.label}")
            return np.asarray(mean, float), np.asarray(std, float)
        out = self.model.predict(self.network, frame)
        mean = out[target].to_numpy(dtype=float)
        std_col = f"{target}_std"
        std = out[std_col].to_numpy(dtype=float) if std_col in out else np.full(len(mean), np.nan)
        return mean, std

    def mean_function(self, target: str):
        """``f(configs) -> values`` of ``target`` (the form :class:`~perfmodel.optimisation.Study` takes)."""
        if target not in self.targets:
            raise OptimisationError(f"prior model {self.label!r} predicts {', '.join(self.targets)}, "
                                    f"not {target!r}")
        return lambda configs: self.predict(target, list(configs))[0]

    def constraint(self, constraint: OutputConstraint, confidence: float = 0.95,
                   rel_std: float = DEFAULT_REL_STD) -> ModelConstraint:
        """An a-priori constraint on ``constraint.metric`` from this model's predictions."""
        return ModelConstraint(constraint, lambda configs: self.predict(constraint.metric, list(configs)),
                               confidence=confidence, rel_std=rel_std, label=self.label)


def check_prior(fn, space: ConfigSpace, label: str, n_sample: int = 256) -> None:
    """Predict the space's configurations (a seeded sample of ``n_sample`` of them) once, up front, so that a
    prior that cannot predict this space fails before a study file is written, not at the first BO step."""
    from profiling.designs import sample as design_sample

    configs = design_sample(space, int(min(n_sample, space.size if space.is_finite else n_sample)), "random", 0)
    values = np.asarray(fn(configs), dtype=float).ravel()
    if values.shape[0] != len(configs) or not np.all(np.isfinite(values)):
        raise OptimisationError(f"prior {label!r} gives a non-finite prediction for some configurations of the space")


def load_prior(path: str, space: ConfigSpace, network: str | None = None) -> ModelPrior:
    """A model file (``perfmodel fit`` output) as a :class:`ModelPrior` over ``space``."""
    from ..models.persistence import load_model

    model = load_model(path, kind=("config_model", "layerwise"))
    spec = None
    if type(model).__name__ == "LayerwisePredictor":
        if not network:
            raise OptimisationError(f"prior model {path!r} is layer-wise: name the network it predicts")
        from ..models.network_input import load_spec

        spec = load_spec(network)  # a keras.applications name, a .keras file or a NetworkSpec JSON file
    return ModelPrior(model, space, spec, label=os.path.basename(path))


def _completed_results(results: pd.DataFrame | str, space: ConfigSpace, label: str | None) -> tuple[str, pd.DataFrame]:
    """An earlier study's table (a frame or a file ``explore -o`` wrote) and its label, failed rows left out."""
    from ..tables import read_table

    if isinstance(results, str):
        label = label or os.path.basename(results)
        df = read_table(results, knobs=list(space.names), objectives=[])
    else:
        label, df = label or "results", results
    if "state" in df.columns:
        df = df[df["state"].eq("complete")]
    return label, df


def prior_from_results(results: pd.DataFrame | str, space: ConfigSpace, targets: Sequence[str], *,
                       model: str = "gp", label: str | None = None) -> dict[str, ModelPrior]:
    """Transfer: fit one configuration model per target on an earlier study's evaluations.

    ``results`` is a study's :meth:`~perfmodel.optimisation.Study.results` (or the CSV ``explore -o``
    writes, or any table with the space's knob columns and the targets); rows that failed are left out.
    """
    from ..models.config_model import ConfigModel

    label, df = _completed_results(results, space, label)
    out = {}
    for t in targets:
        if t not in df.columns:
            raise OptimisationError(f"the earlier results {label!r} have no column {t!r}")
        rows = df[np.isfinite(pd.to_numeric(df[t], errors="coerce"))]
        m = ConfigModel(model=model, knobs=list(space.names), target=t, log_knobs=_log_knobs(space, rows),
                        model_params={"n_restarts": 2} if model == "gp" else None).fit(rows, source=label)
        out[t] = ModelPrior(m, space, label=f"{label}:{t}")
    return out


def _log_knobs(space: ConfigSpace, rows: pd.DataFrame):
    """The configuration model's ``log_knobs`` for a prior over ``space``: its default, unless a knob that the
    rows make log-scaled (:func:`profiling.encoding.log_scaled`) takes a value <= 0 somewhere in the space
    (a level the earlier study did not measure), where a logarithm could not predict."""
    for knob in space.knobs:
        low = _lowest(knob)
        if low is not None and low <= 0 and knob.name in rows.columns and \
                log_scaled(pd.to_numeric(rows[knob.name], errors="coerce").dropna().unique()):
            return False
    return "auto"


def _lowest(knob) -> float | None:
    """The smallest value a numeric knob of the space can take (None for a boolean or categorical knob)."""
    if getattr(knob, "kind", None) not in ("integer", "ordinal", "continuous"):
        return None
    return min(knob.levels) if knob.levels is not None else knob.low


def source_from_results(results: pd.DataFrame | str, space: ConfigSpace, targets: Sequence[str], *,
                        label: str | None = None) -> list[tuple[dict, dict]]:
    """Transfer as extra data: an earlier study's evaluations as ``(config, outputs)`` pairs of this space.

    For :class:`~perfmodel.optimisation.strategies.BOStrategy`'s ``source_data`` (a task feature tells the
    surrogate which study each row comes from). ``results`` as for :func:`prior_from_results`; failed rows
    are left out, a configuration outside the space is an error.
    """
    label, df = _completed_results(results, space, label)
    missing = [t for t in (*space.names, *targets) if t not in df.columns]
    if missing:
        raise OptimisationError(f"the earlier results {label!r} have no column {missing[0]!r}")
    out = []
    for _, row in df.iterrows():
        try:
            cfg = space.validate({k: row[k] for k in space.names})
        except Exception as e:
            raise OptimisationError(f"the earlier results {label!r} hold a configuration outside the space: {e}") \
                from None
        out.append((cfg, {t: float(pd.to_numeric(row[t], errors="coerce")) for t in targets}))
    return out

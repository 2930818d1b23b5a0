"""Layer-wise prediction of a network's runtime, power and energy (NeuralPower, extended).

One regressor per layer group (conv, depthwise, dense, pool, elementwise, memory, other) on the units as they
run inside the network (the ``inplace`` view of the measurement table; fused units as the runtime fuses
them), with the configuration's knobs as features. A network is predicted as the sum over its units,
corrected by a learned network-level term for what the sum misses (per-call overhead, scheduling), fitted
on the whole-network rows of the same table (those of synthetic kernel networks, ``synthetic_<seed>``, only
when fewer than three other networks have some: they train the unit models):

    runtime = a * sum_i t_i + b * n_units + c   (+ knob interactions when there are enough networks)

The interactions take every numeric knob and, with ``network_batch`` (the default), the log of the batch: the
whole / units ratio falls as a batch amortises what a call costs beyond its units. With ``stacked_term`` (the
default) the ``t_i`` the term is fitted on are those of unit models that never saw the network (the folds of
``std_folds``), as they will be for a network predicted.

A weightless layer that repeats an earlier one's computation on the same inputs (``duplicate_of`` column,
``NetworkSpec.duplicates``) costs what the training table's duplicates cost when the measured runtime computes
it once (TensorFlow does), and is predicted like any layer otherwise.

Power is the runtime-weighted mean of the unit powers and energy = power * runtime (NeuralPower). With the
GP, unit std's are propagated assuming independent errors; every model's std holds the relative spread of
the network-level prediction on networks the unit models did not see (``std_folds``).

This module holds the predictor (unit models per group, fitting, prediction); its parts live beside it:
:mod:`.duplicates` (duplicate layers), :mod:`.speed_reference` (runtimes at one machine speed),
:mod:`.roofline_base` (the estimate unit models are relative to), :mod:`.composition` (the network term),
:mod:`.std_folds` (the std measured on networks left out), :mod:`.layerwise_state` (the JSON state),
:mod:`.tables_input` (campaign stores and tables) and :mod:`.network_input` (networks to predict).

Scikit-learn's estimator contract: parameters are those of ``__init__`` (``get_params``, ``set_params`` and
``clone`` are :class:`sklearn.base.BaseEstimator`'s), ``fit`` sets only attributes ending in ``_``. The
checks of ``sklearn.utils.estimator_checks`` that feed ``fit(X, y)`` with numeric arrays cannot pass: the
predictor learns from a measurement table (per-layer and whole-network rows of named networks) and predicts
a network (its layer features) per configuration, not rows of ``X``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from profiling.synthetic import is_synthetic

from ..errors import DataError, ModelError
from ..features import (FUSED_INTO_MAIN, FUSION_MAINS, GENERIC_FEATURES, GROUP_FEATURES, SPECIAL_FEATURES,
                        KnobEncoder, collapse_units, fuse_layers, group_of, knob_columns, layer_features,
                        layer_ranges, layers_outside, separable_halves, split_separable)
from ._common import configs_frame, format_config
from .composition import (LOG_BATCH, fit_network_term, network_design, per_network_row,
                          rows_enough_for_interactions)
from .config_model import make_regressor
from .duplicates import duplicate_cost, duplicate_groups, duplicate_mask
from .layerwise_state import layerwise_from_state, layerwise_state
from .network_input import load_network_spec
from .roofline_base import fit_roofline_base, roofline_base
from .speed_reference import at_reference_speed, speed_scale
from .std_folds import unseen_unit_sums
from .tables_input import NEEDED_COLUMNS as REQUIRED
from .tables_input import store_frame

# store_frame, load_network_spec and at_reference_speed live in tables_input, network_input and speed_reference;
# they stay importable from here, where earlier code and tests found them
__all__ = ["LayerwisePredictor", "store_frame", "load_network_spec", "at_reference_speed"]


class LayerwisePredictor(BaseEstimator):
    """Predict runtime, power and energy of (possibly unseen) networks and configurations from layer models.

    Parameters
    ----------
    model : {"polynomial", "gp", "gbr"}, default "polynomial"
        Regressor of every layer group.
    view : {"inplace", "isolated"}, default "inplace"
        Which per-layer rows of the table to learn from.
    log_target : bool, default True
        Model log runtime / log power (relative errors; runtimes span orders of magnitude).
    log_features : bool, default True
        Use ``log1p`` of the features (power laws become polynomials of low degree).
    network_term : bool, default True
        Learn the network-level correction from the table's whole-network rows.
    min_rows : int, default 6
        A group with fewer training rows is predicted by the generic fallback model.
    model_params : dict, optional
        Extra regressor parameters (defaults: polynomial ``degrees=(2, 3), clip_margin=0.25``; GP
        ``max_points=500, n_restarts=2``, i.e. each group's GP is fitted on a random subset of 500 units).
    random_state : int, default 0
    base : {"roofline", None}, default "roofline"
        With "roofline", every unit model learns the ratio of the runtime to a roofline-style estimate
        ``c + a * FLOPs + b * bytes`` whose three constants are fitted to all training units (relative least
        squares, non-negative). A ratio stays in the range it was trained on (predicted ratios are clipped to
        the range of their group's training ratios, whatever the model), so a layer larger than any in
        training (VGG's first convolutions) is predicted by the roofline's scaling instead of being capped
        at the largest runtime seen, as tree models would, or extrapolated without bound, as a GP or a
        polynomial would.
    reference : str, optional
        A column of the table holding a speed reference timed just before every job (``ref_compute_s``,
        ``ref_memory_s`` or ``ref_framework_s``, :mod:`profiling.reference`; campaigns record them since
        2026-12-02). Every runtime is divided by its job's reference and multiplied by the median reference
        of the training rows (``reference_s_``), so measurements taken while a shared machine ran at
        different speeds agree.
        Predictions are then at the speed of that median; ``predict(..., reference_s=...)`` scales them to
        the reference timed at prediction time (``profiling.reference.reference_now(reference)``).
    reference_window : int, default 9
        The reference of a job is the median of those of the ``reference_window`` jobs closest in time
        (``measured_at``) around it: a machine drifts over minutes, while one job's reference is off by a
        few percent on its own (on 2026-12-02, day-to-day runtime ratios divided by each job's own reference
        spread 9.3 %, by the median of 9 jobs 8.2 %; benchmarks/bench_repeatability.py). 1: each job's own.
    network_batch : bool, default True
        The network term's knob interactions include the log of the batch (when the whole-network rows span
        several batches): ``a`` and ``b`` then change with ``log(batch)``. The whole / units ratio of a
        network falls as the batch grows (a call's costs beyond its units amortise over the samples); without
        it the term holds one ratio for every batch, and over-predicted batch 8 by 15 % (mean) after a
        calibration on batches 1 and 4 (docs/models-results.md, random CNNs). Extrapolated in log batch
        beyond the trained batches: the batch range warning still applies. With it, synthetic networks'
        whole rows (otherwise left out of the term) join when the other networks have fewer than three rows
        per coefficient of the term with its interactions. False: the term of earlier versions.
    std_folds : int, default 4
        How the network-level spread ``net_rel_std_`` (part of every predicted ``runtime_s_std``) is
        measured: the networks with whole-network rows are split into this many seeded groups, the unit
        models are fitted again without each group's networks, and the network term's relative errors on
        their predicted unit sums of those networks (as of a network never profiled) are the spread.
        Fitting takes ``std_folds + 1`` times as long. 0 (or fewer than two such networks, or folds too
        small to fit on): the term's residuals on the networks the unit models were fitted on, which
        understate the error on an unseen network.
    stacked_term : bool, default True
        Fit the network term on the unit sums of the ``std_folds`` folds (each network's units predicted by
        unit models fitted without it: stacked generalisation) instead of the training networks' own sums,
        which the unit models fit almost exactly. Unit models predict a network they never saw with an error
        of their own (the quick calibration's networks left out one at a time: convolutions of 2.7-37 MFLOP
        at two threads, batch 1, 7-8 % high, geometric mean, against 1 % in-sample); a term fitted on
        near-exact sums puts its whole / units ratio on top of that error, one fitted on unseen sums learns
        the ratio that a new network's predicted sum needs (random CNNs refitted offline, 36 pairs: mean bias
        +6.5 % -> +0.3 %, MAPE 10.5 -> 9.2 %; docs/models-results.md). Needs ``std_folds`` >= 2 (and folds to fit
        on); otherwise, and with False, the term is fitted on the training networks' own sums as in earlier
        versions. Costs no extra fitting: the folds are those that measure ``net_rel_std_``, which is then
        the spread of the term on those sums (per degree of freedom).

    Attributes
    ----------
    net_rel_std_ : float
        Relative spread (RMS) of the network-level prediction on networks the unit models did not see (see
        ``std_folds``); ``predict`` gives ``runtime_s_std`` = this times the runtime, combined in quadrature
        with the GP's unit std's.
    net_std_folds_ : int
        The number of folds ``net_rel_std_`` was measured with; 0 when it is the training networks' spread.
    duplicate_s_ : float or None
        Runtime of a duplicate layer (``duplicate_of``; the layer it repeats is predicted in full): the median
        time of the members of the training table's groups of equal layers other than the longest of each.
        Their rows teach no unit model: computed once, the group's time lands on one member (TensorFlow
        keeps one node's name, not necessarily the first's). None when the training table's groups have
        members costing alike (a runtime without common-subexpression elimination): duplicates are then
        predicted, and learnt from, like any layer.
    """

    def __init__(self, model="polynomial", view="inplace", log_target=True, log_features=True, network_term=True,
                 min_rows=6, model_params=None, random_state=0, base="roofline", reference=None,
                 reference_window=9, std_folds=4, network_batch=True, stacked_term=True):
        self.model = model
        self.view = view
        self.log_target = log_target
        self.log_features = log_features
        self.network_term = network_term
        self.min_rows = min_rows
        self.model_params = model_params
        self.random_state = random_state
        self.base = base
        self.reference = reference
        self.reference_window = reference_window
        self.std_folds = std_folds
        self.network_batch = network_batch
        self.stacked_term = stacked_term

    # -- features
    def _base_of(self, rows: pd.DataFrame) -> np.ndarray:
        """The roofline-style estimate that unit models are relative to (ones without a base)."""
        if self.base is None or not hasattr(self, "base_coef_"):
            return np.ones(len(rows))
        return roofline_base(rows, self.base_coef_)

    def _fit_base(self, rows: pd.DataFrame) -> None:
        if self.base is None:
            return
        if self.base != "roofline":
            raise ModelError(f"unknown base {self.base!r}; choose 'roofline' or None")
        self.base_coef_ = fit_roofline_base(rows)

    def _params(self) -> dict:
        if self.model_params is not None:
            return dict(self.model_params)
        # clip_margin: the interaction terms saturate off the data; FLOPs / bytes terms still extrapolate
        if self.model == "polynomial":
            return {"degrees": (2, 3), "clip_margin": 0.25}
        if self.model == "gp":  # thousands of units per group: an exact GP on all of them takes far too long
            return {"max_points": 500, "n_restarts": 2}
        return {}

    def _matrix(self, rows: pd.DataFrame, group: str) -> tuple[np.ndarray, list[str], list[int]]:
        feats = layer_features(rows)
        base = GENERIC_FEATURES if group == "fallback" else self.group_features_[group]
        names = base + SPECIAL_FEATURES
        X = feats[names].to_numpy(dtype=float)
        if self.log_features:
            X = np.log1p(np.maximum(X, 0.0))
        K = self.knobs_.transform(rows).to_numpy(dtype=float) if self.knobs_.encoding else np.empty((len(rows), 0))
        linear_only = list(range(len(base), len(names)))
        return np.column_stack([X, K]), names + self.knobs_.names, linear_only

    def _regressor(self, linear_only: list[int]):
        params = self._params()
        if self.model == "polynomial":
            params.setdefault("linear_only", tuple(linear_only))
        return make_regressor(self.model, bool(self.log_target), params, self.random_state)

    # -- fitting
    def _check_table(self, table) -> pd.DataFrame:
        if isinstance(table, (str, os.PathLike)):
            from ..tables import read_table

            table = read_table(table)
        if not isinstance(table, pd.DataFrame):
            raise DataError("LayerwisePredictor.fit takes the measurement table (a DataFrame or a CSV path)")
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise DataError(f"the measurement table has no column {missing[0]!r} (see docs/measurement-table.md)")
        ok = table
        if "status" in ok.columns:
            ok = ok[ok["status"].astype(str).eq("ok")]
        rt = pd.to_numeric(ok["runtime_s"], errors="coerce")
        return ok[np.isfinite(rt) & (rt > 0)].copy()

    def _normalise_speed(self, table: pd.DataFrame) -> pd.DataFrame:
        """Runtimes at the median speed reference of the table (see the ``reference`` parameter)."""
        if self.reference is None:
            return table
        (out,), self.reference_s_ = at_reference_speed([table], str(self.reference), self.reference_window)
        return out

    def _speed_scale(self, reference_s) -> float:
        return speed_scale(reference_s, getattr(self, "reference_s_", None))

    def fit(self, table) -> "LayerwisePredictor":
        """Fit on the exported measurement table (DataFrame or CSV path; docs/measurement-table.md)."""
        if self.model not in ("polynomial", "gp", "gbr"):
            raise ModelError(f"unknown layer model {self.model!r}; choose polynomial, gp or gbr")
        folds = self.std_folds
        if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 0:
            raise ModelError(f"std_folds must be a whole number of folds >= 0, got {folds!r}", param="std_folds")
        table = self._check_table(table)
        self.reference_s_ = None
        table = self._normalise_speed(table)
        layers = table[table["level"].astype(str).eq("layer") & table["view"].astype(str).eq(self.view)]
        layers = separable_halves(layers)
        if len(layers) == 0:
            raise DataError(f"the table has no successful layer rows of view {self.view!r}")
        self.knobs_ = KnobEncoder([k for k in knob_columns(table) if k != "batch"]).fit(layers)
        self.knob_defaults_ = {k: (layers[k].iloc[0].item() if hasattr(layers[k].iloc[0], "item")
                                   else layers[k].iloc[0]) for k in self.knobs_.knobs if k in layers}
        ranged = [k for k in ["batch", *self.knobs_.used] if k in layers.columns
                  and pd.api.types.is_numeric_dtype(layers[k]) and not pd.api.types.is_bool_dtype(layers[k])]
        self.knob_ranges_ = {k: [float(layers[k].min()), float(layers[k].max())] for k in ranged}
        self.has_power_ = "power_w" in layers.columns and \
            int(np.isfinite(pd.to_numeric(layers["power_w"], errors="coerce")).sum()) >= self.min_rows
        equal = duplicate_groups(layers)
        self.duplicate_s_ = duplicate_cost(layers, equal)
        # computed once, a layer's time lands on one of its duplicates or on itself: no member's is its own
        learn = layers[equal.isna()] if self.duplicate_s_ is not None else layers
        groups = learn["layer_type"].map(group_of)
        self.group_features_ = {g: list(v) for g, v in GROUP_FEATURES.items()}
        if hasattr(self, "base_coef_"):
            del self.base_coef_
        self._fit_base(learn[groups.notna() & groups.ne("separable")])
        self.models_, self.power_models_, self.train_rows_, self.ratio_range_ = {}, {}, {}, {}
        self.skipped_types_ = sorted(set(learn.loc[groups.eq("separable"), "layer_type"]))
        for group in sorted(g for g in groups.dropna().unique() if g != "separable"):
            rows = learn[groups.eq(group)]
            self.train_rows_[group] = len(rows)
            if len(rows) < self.min_rows:
                continue
            self.models_[group], self.power_models_[group] = self._fit_group(rows, group)
        usable = learn[groups.notna() & groups.ne("separable")]
        if len(usable) < self.min_rows:
            raise DataError(f"{len(usable)} layer rows are too few to fit a layer-wise model "
                            f"(needs at least {self.min_rows})")
        self.fallback_, self.power_fallback_ = self._fit_group(usable, "fallback")
        if self.skipped_types_ and "depthwise" not in self.models_:
            warnings.warn("separable convolutions are modelled as depthwise + pointwise, but the table has too few "
                          "depthwise rows to learn the depthwise half; the fallback model predicts it",
                          stacklevel=2)
        self.n_train_rows_ = int(len(usable))
        self.layer_ranges_ = layer_ranges(usable)
        # in-place units of several layers: the runtime fuses, so a spec's layers are fused alike at predict
        fused = layers["unit"].astype(str).str.contains("+", regex=False) if "unit" in layers else \
            pd.Series(False, index=layers.index)
        self.fuses_ = bool(fused.any())
        self.absorb_ = self._absorbed_types(layers, fused)
        self.networks_ = sorted(map(str, layers["network"].unique()))
        self._fit_network_term(table, layers)
        return self

    @staticmethod
    def _absorbed_types(layers: pd.DataFrame, fused: pd.Series) -> tuple[str, ...]:
        """Which layer types the measured runtime fused into the preceding conv / dense unit.

        A spec's layers are fused alike at prediction. With the table's ``unit_types`` column (the types of a
        unit's layers in order), a type is absorbed when it was timed inside a conv / dense unit more often
        than as a unit of its own. Without it: batch-norm whenever units were fused at all, an activation
        only when some fused conv / dense unit applies one (``activation`` column), both when neither column
        is there (the rule of the first tables).
        """
        if not fused.any():
            return ()
        if "unit_types" in layers.columns:
            types = layers["unit_types"].fillna("").astype(str).str.split("+")
            absorbed = []
            for t in FUSED_INTO_MAIN:
                inside = types.map(lambda ts, t=t: len(ts) > 1 and ts[0] in FUSION_MAINS and t in ts[1:]).sum()
                alone = types.map(lambda ts, t=t: ts == [t]).sum()
                if inside > alone:
                    absorbed.append(t)
            return tuple(absorbed)
        if "activation" not in layers.columns:
            return FUSED_INTO_MAIN
        act = layers["activation"].fillna("").astype(str).str.lower()
        main = layers["layer_type"].astype(str).isin(FUSION_MAINS)
        with_act = fused & main & ~act.isin(("", "nan", "none", "linear"))
        return ("batch_norm", "activation") if with_act.any() else ("batch_norm",)

    def _fit_group(self, rows: pd.DataFrame, group: str):
        X, names, lin = self._matrix(rows, group)
        y = rows["runtime_s"].to_numpy(dtype=float) / self._base_of(rows)
        if self.base is not None:
            self.ratio_range_[group] = [float(np.min(y)), float(np.max(y))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rt = self._regressor(lin).fit(X, y)
        power = None
        if self.has_power_:
            p = pd.to_numeric(rows["power_w"], errors="coerce").to_numpy(dtype=float)
            good = np.isfinite(p) & (p > 0)
            if good.sum() >= self.min_rows and np.ptp(p[good]) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    power = self._regressor(lin).fit(X[good], p[good])
        return rt, power

    def _network_design(self, sums: np.ndarray, n_units: np.ndarray, knobs: pd.DataFrame) -> np.ndarray:
        return network_design(sums, n_units, knobs, self.net_knobs_, self.net_knob_lo_, self.net_knob_span_)

    def _fit_network_term(self, table: pd.DataFrame, layers: pd.DataFrame) -> None:
        self.net_coef_ = np.array([1.0, 0.0, 0.0])
        self.net_knobs_, self.net_knob_lo_, self.net_knob_span_ = [], np.zeros(0), np.ones(0)
        self.net_rel_std_ = 0.0
        self.net_std_folds_ = 0
        self.n_network_rows_ = 0
        self.net_stacked_ = False
        if not self.network_term:
            return
        nets = table[table["level"].astype(str).eq("network") & table["view"].astype(str).eq("whole")]
        nets = nets[nets["network"].isin(layers["network"].unique())]
        # Synthetic kernel networks (profiling.synthetic) teach the unit models, but as whole networks they are
        # short chains whose call overhead and whole/unit ratio are not those of the networks predicted
        # (ratio 0.80-1.50 against 0.96-1.25 on this CPU, benchmarks/bench_layerwise.py --extra-train): the
        # network term learns from the others when it can.
        # They join it when the others' rows are too few for the term's knob interactions (three rows per
        # coefficient, fit_network_term): a quick calibration's five named networks x 4 configurations are 20.
        used = [e["name"] for e in self.knobs_.encoding if e["kind"] != "category"]
        if self.network_batch and "batch" in nets.columns and \
                pd.to_numeric(nets["batch"], errors="coerce").nunique() > 1:
            used.append(LOG_BATCH)
        synth = nets["network"].astype(str).map(is_synthetic).to_numpy(dtype=bool)
        if synth.any() and nets.loc[~synth, "network"].nunique() >= 3 and \
                (rows_enough_for_interactions(int((~synth).sum()), len(used)) or not self.network_batch):
            nets = nets[~synth]
        if len(nets) == 0:
            return
        frames, keep = [], []
        knob_names = self.knobs_.knobs
        for idx, row in nets.iterrows():
            own = layers[layers["network"].eq(row["network"])]
            if "config" in own.columns and "config" in row and own["config"].eq(row["config"]).any():
                own = own[own["config"].eq(row["config"])]
            else:  # same architecture, measured under another configuration: reuse its units
                first = own["config"].iloc[0] if "config" in own.columns else None
                own = own[own["config"].eq(first)].copy() if first is not None else own.copy()
                for k in knob_names + (["batch"] if "batch" in table.columns else []):
                    if k in row:
                        own[k] = row[k]
            own = own[own["layer_type"].map(group_of).notna()]
            if "unit" in own.columns:  # repeated campaigns of one (network, config): count each unit once
                own = own.drop_duplicates("unit")
            frames.append(own.assign(_net_row=len(keep)))
            keep.append(idx)
        nets = nets.loc[keep]
        units = pd.concat(frames, ignore_index=True)
        counts = per_network_row(units, len(nets))
        y = nets["runtime_s"].to_numpy(dtype=float)
        # The spread a prediction faces is that of networks the unit models never saw: measured on them when
        # there are folds to make; with stacked_term the term itself learns from those sums.
        unseen, self.net_std_folds_ = unseen_unit_sums(self, table, nets, units)
        stacked = bool(self.stacked_term) and unseen is not None
        # else the training networks' own sums (one call for all networks: the models are vectorised)
        sums = unseen if stacked else per_network_row(units, len(nets), self._predict_rows(units)[0])
        full, self.net_knobs_, self.net_knob_lo_, self.net_knob_span_, n_coef = fit_network_term(
            sums, counts, nets, used)
        self.net_coef_ = full
        self.n_network_rows_ = int(len(y))
        self.net_stacked_ = stacked
        if unseen is not None and not (stacked and len(y) > n_coef):
            rel = self._network_design(unseen, counts, nets) @ full / y - 1
            self.net_rel_std_ = float(np.sqrt(np.mean(rel**2)))
        elif len(y) > n_coef:  # on the sums it was fitted to: per degree of freedom
            rel = self._network_design(sums, counts, nets) @ full / y - 1
            self.net_rel_std_ = float(np.sqrt(np.sum(rel**2) / (len(y) - n_coef)))

    # -- prediction
    def _predict_group(self, model, rows, group, power=False):
        X, _, _ = self._matrix(rows, group)
        scale = 1.0 if power else self._base_of(rows)
        if self.model == "gp":
            mean, std = model.predict(X, return_std=True)
        else:
            mean, std = model.predict(X), np.full(len(rows), np.nan)
        if not power and group in self.ratio_range_:
            # The ratio to the roofline stays in the range seen in training, as a tree model's would: a GP or a
            # polynomial extrapolated far off its data (VGG16's 25088x4096 dense layer) is otherwise unbounded.
            mean = np.clip(mean, *self.ratio_range_[group])
        return mean * scale, std * scale

    def _predict_rows(self, rows: pd.DataFrame):
        """Runtime, runtime std and power of every unit row, in the order of ``rows``.

        Separable convolutions are split into their two halves and summed back; the split moves their rows to
        the end, so the result is put back into the input order before it is returned.
        """
        rows = split_separable(rows.reset_index(drop=True))
        t = np.zeros(len(rows))
        s = np.full(len(rows), np.nan)
        p = np.full(len(rows), np.nan)
        groups = rows["layer_type"].map(group_of).to_numpy(dtype=object) if "layer_type" in rows else \
            np.full(len(rows), "other", dtype=object)
        unseen = set()
        for group in pd.unique(groups):
            if group is None:
                continue
            mask = groups == group
            sub = rows[mask]
            if group in self.models_:
                model, pmodel, gname = self.models_[group], self.power_models_.get(group), group
            else:
                unseen.update(sub["layer_type"].astype(str))
                model, pmodel, gname = self.fallback_, self.power_fallback_, "fallback"
            t[mask], s[mask] = self._predict_group(model, sub, gname)
            if pmodel is not None:
                p[mask] = self._predict_group(pmodel, sub, gname, power=True)[0]
        if unseen:
            warnings.warn(f"layer type(s) {', '.join(sorted(unseen))} unseen in training: predicted by the generic "
                          "fallback model", stacklevel=3)
        if self.duplicate_s_ is not None:
            dup = duplicate_mask(rows).to_numpy()
            t[dup], s[dup] = self.duplicate_s_, 0.0
        index = rows["part_of"].to_numpy()
        out = pd.DataFrame({"t": t, "v": s**2, "p": p * t}, index=index).groupby(level=0, sort=False).sum(min_count=1)
        out = out.reindex(np.arange(int(index.max()) + 1 if len(index) else 0))
        return out["t"].to_numpy(), np.sqrt(out["v"].to_numpy()), out["p"].to_numpy() / out["t"].to_numpy()

    def predict_layers(self, features: pd.DataFrame, configs=None, reference_s=None) -> pd.DataFrame:
        """Per-unit predictions (``runtime_s``, ``runtime_s_std``, ``power_w``) for every configuration.

        ``reference_s``: the speed reference timed now, for a model fitted with ``reference`` (see there).
        """
        scale = self._speed_scale(reference_s)
        out = self._predict_layers(features, configs)
        out["runtime_s"] *= scale
        out["runtime_s_std"] *= scale
        return out

    def _predict_layers(self, features: pd.DataFrame, configs=None) -> pd.DataFrame:
        self._check_fitted()
        feats = features.reset_index(drop=True)
        has_units = "unit" in feats.columns and feats["unit"].notna().all() and feats["unit"].astype(bool).all()
        if not has_units and self.fuses_ and "layer_type" in feats.columns:
            feats = fuse_layers(feats, absorb=self.absorb_)
        feats = collapse_units(feats)
        if "layer_type" in feats.columns:  # inputs and dropouts do no work: not units
            feats = feats[feats["layer_type"].map(group_of).notna()].reset_index(drop=True)
        cfgs = configs_frame(configs)
        parts = []
        for i, cfg in cfgs.iterrows():
            rows = feats.copy()
            for k, v in cfg.items():
                rows[k] = v
            for k, v in self.knob_defaults_.items():
                if k not in rows.columns:
                    if k in self.knobs_.used:
                        raise DataError(f"the configuration does not set knob {k!r} (the model spans its values)")
                    rows[k] = v
            outside = [f"{k}={rows[k].iloc[0]} (trained on {lo:g}..{hi:g})" for k, (lo, hi) in
                       self.knob_ranges_.items() if k in rows and not lo <= float(rows[k].iloc[0]) <= hi]
            if outside:
                warnings.warn(f"{', '.join(outside)}: outside the training range, the prediction extrapolates",
                              stacklevel=2)
            t, s, p = self._predict_rows(rows)
            rows["config"] = format_config(cfg.dropna().to_dict())
            rows["runtime_s"], rows["runtime_s_std"], rows["power_w"] = t, s, p
            rows["config_index"] = i
            parts.append(rows)
        return pd.concat(parts, ignore_index=True)

    def predict(self, spec, configs=None, reference_s=None) -> pd.DataFrame:
        """Network-level ``runtime_s``, ``power_w``, ``energy_j`` (and their std where available).

        Parameters
        ----------
        spec : NetworkSpec or DataFrame
            A spec with ``.features()`` (per-layer feature columns as in the measurement table) or that table.
        configs : mapping, sequence of mappings or DataFrame
            Knob values; one output row per configuration.
        reference_s : float, optional
            For a model fitted with ``reference``: that reference timed now on the machine predicted
            (``profiling.reference.reference_now(model.reference)``); runtimes and energies scale by its
            ratio to ``reference_s_``. Without it, predictions are at the training data's median speed.
        """
        speed = self._speed_scale(reference_s)
        feats = spec.features() if hasattr(spec, "features") else spec
        if not isinstance(feats, pd.DataFrame) or len(feats) == 0:
            raise DataError("the network has no layer features to predict from")
        name = getattr(spec, "name", None) or (str(feats["network"].iloc[0]) if "network" in feats else "network")
        layers = self._predict_layers(feats, configs)
        outside = layers_outside(getattr(self, "layer_ranges_", None), layers[layers["config_index"].eq(0)])
        if outside:
            warnings.warn(f"{name}: layers outside the training range: {'; '.join(outside)}; the prediction "
                          "extrapolates", stacklevel=2)
        cfgs = configs_frame(configs)
        out = []
        for i, cfg in cfgs.iterrows():
            rows = layers[layers["config_index"].eq(i)]
            t, s, p = (rows[c].to_numpy(dtype=float) for c in ("runtime_s", "runtime_s_std", "power_w"))
            total = float(t.sum())
            var_sum = float(np.nansum(s**2)) if np.isfinite(s).any() else np.nan
            knobs = rows.iloc[:1]
            design = self._network_design(np.array([total]), np.array([float(len(rows))]), knobs)
            runtime = float((design @ self.net_coef_)[0])
            term = "learnt" if self.n_network_rows_ else "none (plain sum)"
            if not np.isfinite(runtime) or runtime <= 0:
                warnings.warn(f"{name}, {format_config(cfg.dropna().to_dict())}: the network term gave "
                              f"{runtime:.3g} s, outside its range; predicted as the plain sum of the units",
                              stacklevel=2)
                runtime, term = total, "plain sum (the network term left its range)"
            power = float(np.sum(t * p) / total) if self.has_power_ and np.isfinite(p).all() else np.nan
            # a machine running slower now: every time (not the power) scales with its speed reference
            runtime, total, var_sum = runtime * speed, total * speed, var_sum * speed ** 2
            std = float(np.sqrt(self.net_coef_[0]**2 * var_sum + (self.net_rel_std_ * runtime) ** 2)) \
                if np.isfinite(var_sum) else (self.net_rel_std_ * runtime if self.net_rel_std_ > 0 else np.nan)
            energy = power * runtime if np.isfinite(power) else np.nan
            row = {"network": name, "config": format_config(cfg.dropna().to_dict()), **cfg.dropna().to_dict(),
                   "runtime_s": runtime, "runtime_s_std": std, "power_w": power, "energy_j": energy,
                   "energy_j_std": energy * std / runtime if np.isfinite(energy) and np.isfinite(std) else np.nan,
                   "layers_runtime_s": total, "n_units": int(len(rows)), "network_term": term,
                   "source": f"model:layerwise-{self.model}"}
            out.append(row)
        return pd.DataFrame(out)

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise ModelError("the layer-wise predictor is not fitted")

    # -- what a report asks of a layer-wise model (TableLayerwisePredictor answers the same;
    #    perfmodel.reports.prediction)
    def trained_networks(self) -> list[str]:
        """The networks the model learnt from (a report predicts the others)."""
        self._check_fitted()
        return list(self.networks_)

    def known_knobs(self) -> list[str]:
        """Every knob the model knows (varied in training or held at a default)."""
        self._check_fitted()
        return list(dict.fromkeys([*self.knobs_.knobs, *self.knob_ranges_]))

    def required_knobs(self) -> list[str]:
        """The knobs the model was trained across (a prediction must set them)."""
        self._check_fitted()
        return list(self.knobs_.used)

    def layer_view(self, config=None) -> str:
        """The view of the layer rows the unit models learnt (one for every configuration)."""
        return str(self.view)

    # -- persistence (perfmodel.models.layerwise_state)
    def _get_state(self) -> dict:
        return layerwise_state(self)

    @classmethod
    def _from_state(cls, state: dict) -> "LayerwisePredictor":
        return layerwise_from_state(cls, state)

    def save(self, path) -> None:
        """Write the predictor as JSON with the library versions (never pickle)."""
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "LayerwisePredictor":
        """Read a predictor written by :meth:`save` (any library versions), or a model fitted on tables
        (``perfmodel fit --layerwise --table``: a :class:`~perfmodel.models.table_layerwise.TableLayerwisePredictor`,
        whose ``predict(spec, configs)`` gives runtime, power and energy with their std's)."""
        from .persistence import load_model

        return load_model(path, kind=("layerwise", "layerwise_tables"))

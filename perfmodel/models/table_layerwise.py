"""A layer-wise model learnt from exported measurement tables, one set of models per execution mode.

For every mode of the tables (``cuda_graph`` on / off on the H200 tables, one mode on a CPU export;
:mod:`perfmodel.models.tables_input`):

1. unit models: a :class:`~perfmodel.models.layerwise.LayerwisePredictor` (sparse polynomial, GP or boosting
   per layer group, batch a feature of each) on the mode's layer rows, without its own network term;
2. composition (:class:`~perfmodel.models.composition.RuntimeComposition`): network runtime from the predicted
   unit times, learnt on the whole-network rows of every network whose layers are known (from the table's
   layer rows of any view, or from NetworkSpec files), on the unit times of the unit models it is used with;
3. network correction (:class:`~perfmodel.models.composition.NetworkCorrection`): what the composition
   misses on whole networks, ``log(measured / composed)`` by a ridge on network-level features
   (:func:`network_features`: composed runtime, batch, layers per group, FLOPs, bytes), learnt on every
   network's composed runtime as of a network never seen, and kept only when it beats the composition
   alone with each network left out (by more than one standard error);
4. power (:class:`~perfmodel.models.composition.NetworkPowerModel`) on the whole-network rows with power,
   clipped to the measured range with a note; energy per inference = power * runtime.

The std's: ``runtime_s_std`` = the relative error on networks left out (unit models fitted without them, in
``std_folds`` groups, composed by a composition fitted without them) times the runtime, combined with the
GP's unit std's; ``power_w_std`` likewise for power.

Every prediction outside what the tables calibrated (a batch outside the trained range, a layer larger or
smaller than any of its group in training) is predicted with a warning that names the range; a knob the
model was not trained on, or a value of a constant or categorical knob it never saw, is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from profiling.encoding import parse_bool
from profiling.errors import ConfigError
from profiling.spec import FEATURE_COLUMNS as SPEC_COLUMNS

from ..errors import DataError, ModelError
from ..features import group_of, knob_columns, layer_ranges, layers_outside
from .composition import NetworkCorrection, NetworkPowerModel, RuntimeComposition, network_rates
from ._common import configs_frame, format_config
from .layerwise import LayerwisePredictor
from .std_folds import network_folds
from .tables_input import MODE_COLUMN, check_layer_table, default_view, mode_rows, modes_of

__all__ = ["TableLayerwisePredictor", "network_layers", "network_features"]

# layer features checked against the calibrated range of their group at prediction


def network_layers(table: pd.DataFrame, specs: Mapping | None = None) -> dict[str, pd.DataFrame]:
    """Per-layer features of every network of ``table``: from ``specs`` (name -> NetworkSpec) where given,
    else from the table's own layer rows (one measured run of the network, in its order)."""
    out: dict[str, pd.DataFrame] = {}
    for name, spec in (specs or {}).items():
        out[str(name)] = spec.features()
    layers = table[table["level"].astype(str).eq("layer")]
    keep = [c for c in ("layer", "layer_type", *SPEC_COLUMNS, "duplicate_of", "unit") if c in layers.columns]
    run_cols = [c for c in ("table", "campaign", "sitting", "config", "view") if c in layers.columns]
    for name, rows in layers.groupby(layers["network"].astype(str), sort=False):
        if name in out:
            continue
        first = rows[run_cols].astype(str).agg("|".join, axis=1) if run_cols else pd.Series("", index=rows.index)
        one = rows[first.eq(first.iloc[0])]
        if "layer" in one.columns:
            one = one.drop_duplicates("layer")
        out[name] = one[keep].reset_index(drop=True)
    return out


# layer groups counted in the network-level features
COUNTED_GROUPS = ("conv", "depthwise", "dense", "pool", "elementwise", "memory")


def network_features(composed_s, batch, feats: pd.DataFrame) -> np.ndarray:
    """Network-level features of each row (one network, several batches): log composed runtime, log batch,
    ``log1p`` of the number of layers of each group of ``COUNTED_GROUPS`` and of the others, log GFLOP and
    log MB moved per call (:class:`~perfmodel.models.composition.NetworkCorrection`'s inputs)."""
    composed_s = np.atleast_1d(np.asarray(composed_s, dtype=float))
    batch = np.broadcast_to(np.asarray(batch, dtype=float), composed_s.shape)
    groups = feats["layer_type"].map(group_of).dropna() if "layer_type" in feats else pd.Series(dtype=object)
    counts = [float(groups.eq(g).sum()) for g in COUNTED_GROUPS]
    counts.append(float(len(groups)) - sum(counts))
    gflop, act_mb, w_mb = _totals(feats)
    rows = [[np.log(max(c, 1e-9)), np.log(max(b, 1.0)), *np.log1p(counts), np.log1p(b * gflop),
             np.log1p(b * act_mb + w_mb)] for c, b in zip(composed_s, batch)]
    return np.array(rows, dtype=float)


def _canonical(value) -> str:
    """A knob value as text, with the spellings of a switch made one (``profiling.encoding.parse_bool``'s:
    on/true/yes/1 -> "on", off/false/no/0 -> "off")."""
    text = str(value).strip().lower()
    try:
        return "on" if parse_bool(text) else "off"
    except ConfigError:
        return text


def _totals(feats: pd.DataFrame) -> tuple[float, float, float]:
    """Per-sample GFLOP, per-sample activation MB (in + out) and weight MB of a network's layers."""
    num = lambda c: float(pd.to_numeric(feats[c], errors="coerce").fillna(0).sum()) if c in feats else 0.0  # noqa: E731
    return num("flops") / 1e9, (num("input_bytes") + num("output_bytes")) / 1e6, num("weight_bytes") / 1e6


class TableLayerwisePredictor(BaseEstimator):
    """Runtime, power and energy of a network per configuration, learnt from measurement tables.

    Parameters
    ----------
    model : {"polynomial", "gp", "gbr"}, default "polynomial"
        Regressor of the layer groups and of the network power.
    view : str or mapping, optional
        Layer view per mode (``{"on": "isolated", "off": "inplace"}``; one string for every mode). Default:
        :func:`~perfmodel.models.tables_input.default_view`.
    std_folds : int, default 4
        Groups of networks left out in turn to give the composition unit times of unseen networks and to
        measure the std's (fitting takes about ``std_folds + 1`` times one fit). At least 2.
    random_state : int, default 0
    """

    def __init__(self, model="polynomial", view=None, std_folds=4, random_state=0):
        self.model = model
        self.view = view
        self.std_folds = std_folds
        self.random_state = random_state

    # -- fitting
    def _view_of(self, mode) -> str:
        if isinstance(self.view, Mapping):
            return self.view.get(mode) or default_view(mode)
        return self.view or default_view(mode)

    def _units(self, **extra) -> LayerwisePredictor:
        return LayerwisePredictor(model=self.model, network_term=False, std_folds=0, random_state=self.random_state,
                                  **extra)

    def fit(self, table: pd.DataFrame, specs: Mapping | None = None) -> "TableLayerwisePredictor":
        """Fit on an exported table (several tables: concatenate them, :func:`tables_input.read_tables`).

        ``specs``: optional NetworkSpec per network name, for networks whose layer features the table lacks.
        """
        if self.model not in ("polynomial", "gp", "gbr"):
            raise ModelError(f"unknown layer model {self.model!r}; choose polynomial, gp or gbr")
        folds = self.std_folds
        if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
            raise ModelError(f"std_folds must be a whole number of folds >= 2, got {folds!r}", param="std_folds")
        if not isinstance(table, pd.DataFrame):
            raise DataError("TableLayerwisePredictor.fit takes the measurement table as a DataFrame")
        check_layer_table(table)
        knobs = [k for k in knob_columns(table) if k in table.columns]
        self.knob_values_ = {k: sorted(set(table[k].dropna().astype(str))) for k in knobs if k != "batch"}
        # numeric knobs (threads, clocks...) are features: a value between or beyond the measured ones is
        # predicted with a range warning; the others (on/off, names) must be values the tables hold
        self.knob_ranges_ = {k: [float(pd.to_numeric(table[k]).min()), float(pd.to_numeric(table[k]).max())]
                             for k in self.knob_values_ if k != MODE_COLUMN
                             and pd.to_numeric(table[k].dropna(), errors="coerce").notna().all()
                             and not set(map(str.lower, self.knob_values_[k])) <= {"true", "false"}}
        layers_of = network_layers(table, specs)
        self.modes_, self.fit_notes_ = {}, []
        for mode in modes_of(table):
            self.modes_["" if mode is None else mode] = self._fit_mode(table, mode, layers_of)
        return self

    def _fit_mode(self, table, mode, layers_of) -> dict:
        rows = mode_rows(table, mode, self._view_of(mode))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            units = self._units(view=rows.view).fit(rows.table)
        for w in caught:  # e.g. "separable convolutions ... fallback": kept, and said once
            self._note(f"mode {mode or 'all'}: {w.message}")
        t = rows.table
        whole = t[t["level"].astype(str).eq("network")].copy()
        whole["batch"] = pd.to_numeric(whole["batch"], errors="coerce").fillna(1.0) if "batch" in whole else 1.0
        if "power_w" not in whole.columns:
            whole["power_w"] = np.nan
        whole["power_w"] = pd.to_numeric(whole["power_w"], errors="coerce")
        knobs = [k for k in self.knob_values_ if k in whole.columns and k != MODE_COLUMN]
        key = whole["config"].astype(str) if "config" in whole.columns else whole["batch"].astype(str)
        nets = whole.groupby([whole["network"].astype(str), key.rename("_cfg")]).agg(
            batch=("batch", "first"), runtime_s=("runtime_s", "median"), power_w=("power_w", "median"),
            **{k: (k, "first") for k in knobs}).reset_index()
        missing = sorted(set(nets["network"]) - set(layers_of))
        if missing:
            self._note(f"mode {mode or 'all'}: no layer features for {', '.join(missing)} (give their spec "
                       "files): their whole-network rows are not used")
        nets = nets[nets["network"].isin(layers_of)].reset_index(drop=True)
        # The composition learns from the unit times of the model it will be used with (fitted on every network;
        # unit models fitted on fewer networks err more, and a composition fitted on their times over-corrects);
        # the std from those of unit models that never saw the network, composed by a composition that never saw
        # it either.
        full_t = self._unit_times({n: units for n in set(nets["network"])}, nets, layers_of, knobs)
        unit_t = self._unseen_unit_times(units, rows, nets, layers_of, knobs)
        alone = rows.view != "inplace"  # units timed alone paid a launch / replay of their own
        comp = RuntimeComposition()
        y = nets["runtime_s"].to_numpy(dtype=float)
        comp.fit(full_t, y, alone=alone)
        rel = self._cv_composition(full_t, unit_t, nets, alone)
        # What the composition misses, from network-level features: learnt on each network's composed runtime
        # as of a network never seen (unit models and composition fitted without it), kept when it measures
        # better with each network left out (NetworkCorrection)
        names = nets["network"].to_numpy()
        composed_cv = y * (1 + rel)
        correction = None
        if alone:
            X = np.vstack([network_features(composed_cv[i], nets["batch"].iloc[i], layers_of[names[i]])
                           for i in range(len(nets))])
            # Only for units timed alone (graph replays), whose sum misses what a captured network saves: with
            # units timed in place (eager, CPU), kept by its own leave-one-out test in 6 of 10 folds, it predicted
            # the held-out applications worse (eager 28.0 % MAPE against 22.4 %, docs/models-results.md)
            correction = NetworkCorrection().fit(X, composed_cv, y, names)
        rel_std = float(np.sqrt(np.mean(rel[np.isfinite(rel)] ** 2)))
        if correction is not None and correction.used_:
            rel_std = correction.rel_std_
        pred = comp.predict(unit_t)
        if correction is not None:
            pred = pred * correction.factor(np.vstack([network_features(pred[i], nets["batch"].iloc[i],
                                                                    layers_of[names[i]]) for i in range(len(nets))]))
        state = {"view": rows.view, "units": units, "composition": comp, "correction": correction,
                 "rel_std": rel_std, "n_network_rows": int(len(nets)),
                 "networks": sorted(set(nets["network"])), "layer_networks": list(rows.layer_networks),
                 "batch_range": [float(nets["batch"].min()), float(nets["batch"].max())],
                 "layer_ranges": self._layer_ranges(rows.table), "power": None, "described": rows.describe()}
        has_p = nets["power_w"].notna() & (nets["power_w"] > 0)
        if has_p.sum() >= 6:
            X = self._power_features(nets[has_p], pred[has_p.to_numpy()], layers_of)
            state["power"] = NetworkPowerModel(self.model, self.random_state, folds=max(2, int(self.std_folds))).fit(
                X, nets.loc[has_p, "power_w"].to_numpy(), nets.loc[has_p, "network"].to_numpy())
        else:
            self._note(f"mode {mode or 'all'}: {int(has_p.sum())} whole-network rows with power: no power model "
                       "(power_w and energy_j are predicted missing)")
        return state

    def _note(self, text: str) -> None:
        if text not in self.fit_notes_:
            self.fit_notes_.append(text)

    @staticmethod
    def _layer_ranges(rows: pd.DataFrame) -> dict:
        return layer_ranges(rows[rows["level"].astype(str).eq("layer")])

    def _predict_units(self, units, feats: pd.DataFrame, cfgs: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
        p = units.predict_layers(feats, [{**c, "batch": float(c.get("batch", 1))} for c in cfgs])
        return [(p.loc[p["config_index"].eq(i), "runtime_s"].to_numpy(dtype=float),
                 p.loc[p["config_index"].eq(i), "runtime_s_std"].to_numpy(dtype=float)) for i in range(len(cfgs))]

    def _unit_times(self, model_of, nets, layers_of, knobs) -> list[np.ndarray]:
        """Each network row's unit times predicted by ``model_of[its network]``."""
        names = nets["network"].to_numpy()
        t = [None] * len(nets)
        for name in pd.unique(names):
            idx = np.flatnonzero(names == name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # out-of-range warnings belong to prediction, not to fitting
                cfgs = nets.iloc[idx][["batch", *knobs]].to_dict("records")
                got = self._predict_units(model_of[name], layers_of[name], cfgs)
            for i, (tt, _) in zip(idx, got):
                t[i] = tt
        return t

    def _unseen_unit_times(self, units, rows, nets, layers_of, knobs):
        """Each network row's unit times as predicted by unit models fitted without its network."""
        names = nets["network"].to_numpy()
        trained = set(rows.layer_networks)
        model_of = {n: units for n in set(names) - trained}  # never in the unit models' training
        both = sorted(set(names) & trained)
        for fold in network_folds(both, self.std_folds, self.random_state) or [np.array(both)]:
            rest = rows.table[~rows.table["network"].astype(str).isin(fold)]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the same fit's warnings were reported by the full fit
                    sub = self._units(view=rows.view).fit(rest)
            except DataError as exc:
                self._note(f"mode {rows.mode or 'all'}: the unit models could not be refitted without "
                           f"{', '.join(fold)} ({exc}); the std uses their in-sample predictions and "
                           "understates the error on a new network")
                sub = units
            model_of.update({n: sub for n in fold})
        return self._unit_times(model_of, nets, layers_of, knobs)

    def _cv_composition(self, full_t, unit_t, nets, alone: bool) -> np.ndarray:
        """Relative errors on networks left out: a composition fitted on the other networks' ``full_t``
        applied to the left-out network's ``unit_t`` (from unit models that did not see it either); NaN for
        the rows of a fold that could not be left out."""
        names = nets["network"].to_numpy()
        rel = np.full(len(nets), np.nan)
        y = nets["runtime_s"].to_numpy()
        for fold in network_folds(names, self.std_folds, self.random_state + 1):
            held = np.isin(names, fold)
            if (~held).sum() < 4:
                continue
            comp = RuntimeComposition().fit([full_t[i] for i in np.flatnonzero(~held)], y[~held], alone=alone)
            rel[held] = comp.predict([unit_t[i] for i in np.flatnonzero(held)]) / y[held] - 1
        if not np.isfinite(rel).any():
            raise DataError(f"{len(set(names))} networks with whole-network rows are too few to measure the "
                            "prediction's spread on networks left out")
        return rel

    def _power_features(self, nets: pd.DataFrame, runtime_s: np.ndarray, layers_of) -> np.ndarray:
        tot = np.array([_totals(layers_of[n]) for n in nets["network"]])
        b = nets["batch"].to_numpy(dtype=float)
        return network_rates(b * tot[:, 0], b * tot[:, 1] + tot[:, 2], b, runtime_s)

    # -- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "modes_"):
            raise ModelError("the layer-wise model is not fitted")

    def _mode_of(self, cfg: dict) -> str:
        modes = list(self.modes_)
        if modes == [""]:
            return ""
        value = cfg.get(MODE_COLUMN)
        if value is None:
            raise DataError(f"the configuration does not set {MODE_COLUMN} (the model knows "
                            f"{', '.join(f'{MODE_COLUMN}={m}' for m in modes)})")
        known = {_canonical(m): m for m in modes}
        if _canonical(value) not in known:
            raise DataError(f"{MODE_COLUMN}={value} was not measured (the model knows {', '.join(modes)})")
        return known[_canonical(value)]

    def _check_config(self, cfg: dict) -> None:
        known = ["batch", *self.knob_values_]
        for k, v in cfg.items():
            if k not in known:
                raise DataError(f"knob {k!r} was not in the training tables (the model knows {', '.join(known)})")
            if k == "batch":
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 1:
                    raise DataError(f"batch must be a number >= 1, got {v!r}")
                continue
            if k in self.knob_ranges_:
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
                    raise DataError(f"knob {k} is a number in the tables, got {v!r}")
                continue
            values = self.knob_values_[k]
            if k != MODE_COLUMN and _canonical(v) not in {_canonical(x) for x in values}:
                raise DataError(f"knob {k}={v} was never measured (the tables hold {k}={' or '.join(values)})")

    def _range_notes(self, state: dict, cfg: dict, feats: pd.DataFrame) -> list[str]:
        notes = []
        batch = float(cfg.get("batch", 1))
        lo, hi = state["batch_range"]
        if not lo <= batch <= hi:
            notes.append(f"batch={batch:g} outside the calibrated batches {lo:g}..{hi:g}")
        for k, (lo, hi) in self.knob_ranges_.items():
            if k in cfg and not lo <= float(cfg[k]) <= hi:
                notes.append(f"{k}={cfg[k]} outside the calibrated {k} {lo:g}..{hi:g}")
        outside = layers_outside(state["layer_ranges"], feats)
        if outside:
            notes.append("layers outside the calibrated range: " + "; ".join(outside))
        return notes

    # -- what a report asks of a layer-wise model (as LayerwisePredictor; perfmodel.reports.prediction)
    def trained_networks(self) -> list[str]:
        """The networks the model learnt from, in any mode (unit models or composition)."""
        self._check_fitted()
        return sorted({str(n) for st in self.modes_.values() for n in [*st["networks"], *st["layer_networks"]]})

    def known_knobs(self) -> list[str]:
        """Every knob of the training tables (batch first)."""
        self._check_fitted()
        return ["batch", *self.knob_values_]

    def required_knobs(self) -> list[str]:
        """The knobs a prediction must set: the execution mode when the tables hold several."""
        self._check_fitted()
        return [MODE_COLUMN] if len(self.modes_) > 1 else []

    def layer_view(self, config=None) -> str:
        """The view of the layer rows the unit models of ``config``'s mode learnt (without a configuration:
        every mode's, e.g. ``isolated (cuda_graph=on), inplace (cuda_graph=off)``)."""
        self._check_fitted()
        if config is not None:
            return str(self.modes_[self._mode_of(dict(config))]["view"])
        if list(self.modes_) == [""]:
            return str(self.modes_[""]["view"])
        return ", ".join(f"{st['view']} ({MODE_COLUMN}={m})" for m, st in self.modes_.items())

    def predict_layers(self, spec, configs=None) -> pd.DataFrame:
        """Per-unit predictions of the unit models (``runtime_s``, ``runtime_s_std``, ``config_index``), before
        the composition: what each layer costs in ``configs`` (a mode's unit models per configuration)."""
        self._check_fitted()
        feats = spec.features() if hasattr(spec, "features") else spec
        parts = []
        for i, (_, cfg) in enumerate(configs_frame(configs).iterrows()):
            cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in cfg.dropna().to_dict().items()}
            self._check_config(cfg)
            units = self.modes_[self._mode_of(cfg)]["units"]
            parts.append(units.predict_layers(feats, [{**cfg, "batch": float(cfg.get("batch", 1))}])
                         .assign(config_index=i))
        return pd.concat(parts, ignore_index=True)

    def predict(self, spec, configs=None) -> pd.DataFrame:
        """``runtime_s``, ``power_w``, ``energy_j`` and their std's per configuration (one row each).

        Parameters
        ----------
        spec : NetworkSpec or DataFrame
            A spec with ``.features()`` (as :func:`perfmodel.models.network_input.load_spec` returns) or its
            per-layer feature table.
        configs : mapping or sequence of mappings
            Knob values, e.g. ``{"batch": 8, "cuda_graph": "on"}``.
        """
        self._check_fitted()
        feats = spec.features() if hasattr(spec, "features") else spec
        if not isinstance(feats, pd.DataFrame) or len(feats) == 0 or "layer_type" not in feats.columns:
            raise DataError("the network has no layer features to predict from")
        name = getattr(spec, "name", None) or (str(feats["network"].iloc[0]) if "network" in feats else "network")
        cfgs = configs_frame(configs)
        out = []
        for _, cfg in cfgs.iterrows():
            cfg = {k: (v.item() if hasattr(v, "item") else v) for k, v in cfg.dropna().to_dict().items()}
            self._check_config(cfg)
            mode = self._mode_of(cfg)
            state = self.modes_[mode]
            batch = float(cfg.get("batch", 1))
            notes = self._range_notes(state, cfg, feats)
            for n in notes:
                warnings.warn(f"{name}, {format_config(cfg)}: {n}; the prediction extrapolates", stacklevel=2)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                (t, s), = self._predict_units(state["units"], feats, [cfg])
            for w in caught:
                if "outside the training range" not in str(w.message):  # said above, with the range
                    warnings.warn(str(w.message), stacklevel=2)
            comp = state["composition"]
            composed = float(comp.predict([t])[0])
            runtime, how = composed, "composition"
            corr = state.get("correction")
            if corr is not None and corr.used_ and np.isfinite(composed) and composed > 0:
                runtime = composed * float(corr.factor(network_features(composed, batch, feats))[0])
                how = "composition x network correction"
            if not np.isfinite(runtime) or runtime <= 0:
                runtime, how = float(t.sum()), "plain sum (composition left its range)"
                warnings.warn(f"{name}, {format_config(cfg)}: the learnt composition gave {runtime!r}; predicted "
                              "as the plain sum of the layers", stacklevel=2)
                notes.append("plain sum of layers: the composition left its range")
            unit_var = float(np.nansum(s**2)) if np.isfinite(s).any() else 0.0
            std = float(np.sqrt(comp.scale**2 * unit_var + (state["rel_std"] * runtime) ** 2))
            power = power_std = np.nan
            if state["power"] is not None:
                gflop, act_mb, w_mb = _totals(feats)
                X = network_rates(np.array([batch * gflop]), np.array([batch * act_mb + w_mb]), np.array([batch]),
                                  np.array([runtime]))
                p, ps = state["power"].predict(X)
                power, power_std = float(p[0]), float(ps[0])
                if state["power"].outside(X)[0]:
                    lo, hi = state["power"].range_
                    note = f"power clipped to the measured {lo:.0f}..{hi:.0f} W"
                    warnings.warn(f"{name}, {format_config(cfg)}: {note}", stacklevel=2)
                    notes.append(note)
            energy = power * runtime
            energy_std = energy * float(np.hypot(std / runtime, power_std / power)) if np.isfinite(energy) else np.nan
            out.append({"network": name, "config": format_config(cfg), **cfg, "runtime_s": runtime,
                        "runtime_s_std": std, "power_w": power, "power_w_std": power_std, "energy_j": energy,
                        "energy_j_std": energy_std, "layers_runtime_s": float(t.sum()), "composed_runtime_s": composed,
                        "n_units": int(len(t)),
                        "composition": how, "notes": "; ".join(notes),
                        "source": f"model:layerwise-tables-{self.model}"})
        return pd.DataFrame(out)

    def summary(self) -> list[str]:
        """Lines saying what each mode learnt from and how wide its std is."""
        self._check_fitted()
        lines = []
        for mode, st in self.modes_.items():
            c = st["composition"]
            lines.append(st["described"])
            lines.append(f"  composition on {st['n_network_rows']} (network, configuration) rows: "
                         f"runtime = {c.scale:.3f} * "
                         f"sum max(t - {1e6 * c.replay_s:.1f} us, {1e6 * c.gap_s:.2f} us) "
                         f"{'-' if c.offset_s < 0 else '+'} {1e6 * abs(c.offset_s):.1f} us;"
                         f" relative std on networks left out {100 * st['rel_std']:.1f} %")
            corr = st.get("correction")
            if corr is None:
                lines.append("  network correction: not tried (units timed in place)")
            else:
                lines.append("  network correction (ridge on network features, networks left out one by one): "
                             + (f"used, alpha {corr.alpha_:g}, relative std {100 * corr.rel_std_:.1f} % against "
                                f"{100 * corr.rel_std_without_:.1f} % without" if corr.used_ else
                                "not used (too few networks to learn it)" if corr.gain_se_ is None else
                                f"not used (no better than the composition alone, "
                                f"{100 * corr.rel_std_without_:.1f} %)"))
            if st["power"] is not None:
                lines.append(f"  power model on {st['power'].n_rows_} rows; relative std on {st['power'].spread_on_} "
                             f"{100 * st['power'].rel_std_:.1f} %")
        return lines + [f"note: {n}" for n in self.fit_notes_]

    # -- persistence
    def _get_state(self) -> dict:
        from .persistence import state_of

        self._check_fitted()
        modes = {}
        for mode, st in self.modes_.items():
            own = ("units", "composition", "power", "correction")
            modes[mode] = {**{k: v for k, v in st.items() if k not in own},
                           "units": state_of(st["units"]), "composition": st["composition"].to_dict(),
                           "correction": None if st.get("correction") is None else st["correction"].to_dict(),
                           "power": None if st["power"] is None else st["power"].to_dict()}
        return {"params": {"model": self.model, "view": self.view, "std_folds": int(self.std_folds),
                           "random_state": self.random_state},
                "knob_values": self.knob_values_, "knob_ranges": self.knob_ranges_, "modes": modes,
                "fit_notes": self.fit_notes_}

    @classmethod
    def _from_state(cls, state: dict) -> "TableLayerwisePredictor":
        from ._common import require_state
        from .persistence import from_state

        require_state(state, ("params", "knob_values", "modes"), "layerwise_tables")
        m = cls(**state["params"])
        m.knob_values_ = {k: list(v) for k, v in state["knob_values"].items()}
        m.knob_ranges_ = {k: [float(a), float(b)] for k, (a, b) in state.get("knob_ranges", {}).items()}
        m.fit_notes_ = list(state.get("fit_notes", []))
        m.modes_ = {}
        for mode, st in state["modes"].items():
            m.modes_[mode] = {**st, "units": from_state(st["units"]),
                              "composition": RuntimeComposition.from_dict(st["composition"]),
                              # files written before it: the composition alone, as they predicted
                              "correction": None if st.get("correction") is None else
                              NetworkCorrection.from_dict(st["correction"]),
                              "power": None if st["power"] is None else NetworkPowerModel.from_dict(st["power"])}
        return m

    def save(self, path) -> None:
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "TableLayerwisePredictor":
        from .persistence import load_model

        return load_model(path, kind="layerwise_tables")

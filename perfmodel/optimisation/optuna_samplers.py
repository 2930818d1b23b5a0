"""optuna's samplers as baselines behind the strategies' interface: TPE (``tpe``) and NSGA-II (``nsga2``)."""

from __future__ import annotations

import warnings

import numpy as np

from profiling.space import config_key

from .base import SearchState, Strategy, initial_design_size

class TPEStrategy(Strategy):
    """optuna's TPE sampler (multi-objective and constrained TPE for several objectives/constraints).

    Suggestions are snapped to the nearest configuration of the space that has not been evaluated, so TPE
    spends its budget like the other strategies: on distinct, feasible configurations.
    """

    name = "tpe"

    def _sampler(self, state: SearchState):
        return self._optuna.samplers.TPESampler(n_startup_trials=self.n_init,
                                                seed=int(state.rng(5).integers(2**31)))

    def _system_attrs(self, index: int) -> dict:
        return {}

    def __init__(self, space, n_init: int | str = "auto"):
        super().__init__(space)
        self.n_init = initial_design_size(n_init)
        import optuna  # a dependency of the project

        self._optuna = optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        D = optuna.distributions
        self._dists = {}
        for k in space.knobs:
            levels = k.levels
            if levels is None:
                self._dists[k.name] = D.FloatDistribution(float(k.low), float(k.high), log=bool(k.log))
            elif k.kind in ("integer", "ordinal", "continuous"):
                self._dists[k.name] = D.IntDistribution(0, len(levels) - 1)   # ordered level index
            else:
                self._dists[k.name] = D.CategoricalDistribution(list(levels))

    def _to_params(self, cfg: dict) -> dict:
        out = {}
        for k in self.space.knobs:
            levels = k.levels
            if levels is None:
                out[k.name] = float(cfg[k.name])
            elif k.kind in ("integer", "ordinal", "continuous"):
                out[k.name] = levels.index(k.validate(cfg[k.name]))
            else:
                out[k.name] = cfg[k.name]
        return out

    def _from_params(self, params: dict) -> dict:
        out = {}
        for k in self.space.knobs:
            levels, v = k.levels, params[k.name]
            out[k.name] = v if levels is None or k.kind not in ("integer", "ordinal", "continuous") else levels[v]
        return out

    def suggest(self, state):
        optuna = self._optuna
        directions = ["maximize" if mx else "minimize" for mx in state.maximize]
        sampler = self._sampler(state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(directions=directions, sampler=sampler)
            n = 0
            for cfg, outputs in state.complete:
                values = [float(outputs[m]) for m in state.objectives]
                if not all(np.isfinite(values)):
                    continue
                cons = {str(c): float(c.slack(outputs[c.metric])) for c in state.constraints} or None
                study.add_trial(optuna.trial.create_trial(params=self._to_params(cfg), distributions=self._dists,
                                                          values=values, constraints=cons,
                                                          system_attrs=self._system_attrs(n) or None))
                n += 1
            trial = study.ask(self._dists)
        cfg = self._from_params(trial.params)
        ok = config_key(cfg) not in state.taken and self.space.is_feasible(cfg)
        if not ok:
            cfg = self._cands.nearest_free(state, self.space.to_vector(cfg, feasible=False)) if self._cands.finite \
                else self._random(state)
            if cfg is None:
                return None
        return cfg, ("random" if len(state.complete) < self.n_init else "model")


class NSGA2Strategy(TPEStrategy):
    """optuna's NSGA-II sampler (a genetic algorithm; population ``n_init``, generations in trial order).

    The history is replayed into a fresh optuna study at every ask with each trial's generation (the
    ``n``-th successful evaluation belongs to generation ``n // n_init``), so the sampler selects parents
    exactly as in one long-running optuna study; suggestions are snapped like TPE's.
    """

    name = "nsga2"

    def _sampler(self, state):
        pop = max(2, self.n_init)
        kwargs = {"population_size": pop, "seed": int(state.rng(5).integers(2**31))}
        if state.constraints:
            kwargs["constraints_func"] = lambda t: list(t.constraints.values())
        return self._optuna.samplers.NSGAIISampler(**kwargs)

    def _system_attrs(self, index):
        return {"NSGAIISampler:generation": index // max(2, self.n_init)}

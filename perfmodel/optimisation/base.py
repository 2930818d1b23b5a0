"""What every search strategy shares: the state it decides from, its interface, the initial design size, and
random search.

A strategy is *stateless between asks*: it decides from the study's history and a random generator seeded
by ``(seed, trial number)``, so a resumed study asks exactly what an uninterrupted one would have asked
(for ``bo`` and ``random``; ``tpe`` rebuilds an optuna study from the history at every ask, with the same
per-trial seed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from profiling.space import ConfigSpace, config_key

from ..errors import OptimisationError
from .candidates import Candidates
from .constraints import OutputConstraint

# Initial design sizes of ``n_init="auto"``: TPE's start-up trials, NSGA-II's population and a BO study with
# prior means take N_INIT; any other BO study, source data included, takes N_INIT_UNGUIDED (the smaller design
# measured better there, also with a deliberately wrong source study, and worse with a prior mean that is wrong:
# docs/optimisation-results.md, "Tenth session" and "Eleventh session").
N_INIT = 10
N_INIT_UNGUIDED = 6


def initial_design_size(value, default: int = N_INIT) -> int:
    """``value`` checked as an initial design size; ``"auto"`` is ``default``."""
    if isinstance(value, str) and value == "auto":
        return int(default)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptimisationError(f"initial design size must be a positive integer or 'auto', got {value!r}")
    return int(value)


@dataclass
class SearchState:
    """What a strategy may look at when it chooses the next configuration."""

    space: ConfigSpace
    objectives: tuple[str, ...]
    maximize: tuple[bool, ...]
    constraints: tuple[OutputConstraint, ...]
    seed: int
    number: int                                   # number of the trial being asked (0-based)
    complete: list[tuple[dict, dict]]             # (config, outputs) of successful evaluations
    taken: set[str]                               # config keys of every trial (complete, failed, pending)
    # config keys ruled out before the search (a-priori constraints; also in ``taken``): never to be asked,
    # and no part of the space an initial design should cover
    ruled_out: frozenset[str] = frozenset()

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([int(self.seed) & 0xFFFFFFFF, self.number, salt])

    def with_pending(self, config: dict, outputs: dict | None) -> SearchState:
        """The state after ``config`` is handed out (and, for a batch, believed to return ``outputs``)."""
        complete = self.complete + ([(config, outputs)] if outputs is not None else [])
        return replace(self, number=self.number + 1, complete=complete, taken=self.taken | {config_key(config)})


class Strategy:
    """Base class: :meth:`suggest` returns ``(config, phase)`` or ``None`` when the space is exhausted."""

    name = "strategy"

    def __init__(self, space: ConfigSpace):
        self.space = space
        self._cands = Candidates(space)

    def suggest(self, state: SearchState) -> tuple[dict, str] | None:
        raise NotImplementedError

    def believed_outputs(self, state: SearchState, config: dict) -> dict | None:
        """Outputs a batch proposal assumes for ``config`` while it is being measured (None: nothing)."""
        return None

    def suggest_batch(self, state: SearchState, q: int) -> list[tuple[dict, str]]:
        """``q`` distinct configurations to evaluate at once (fewer when the space runs out).

        Sequential greedy: each pick is added to the state as pending, with the outputs
        :meth:`believed_outputs` gives it (BO: its predicted mean, the *Kriging believer* of Ginsbourger et
        al. 2010), before the next one is chosen.
        """
        out = []
        for _ in range(int(q)):
            got = self.suggest(state)
            if got is None or got[0] is None:
                break
            out.append(got)
            state = state.with_pending(got[0], self.believed_outputs(state, got[0]))
        return out

    def _random(self, state: SearchState) -> dict | None:
        if self._cands.finite:
            perm = np.random.default_rng([int(state.seed) & 0xFFFFFFFF, 99]).permutation(len(self._cands.configs))
            for i in perm:
                if self._cands.keys[i] not in state.taken:
                    return self._cands.configs[i]
            return None
        configs, _ = self._cands.remaining(state, n_random=64)
        return configs[0] if configs else None


class RandomStrategy(Strategy):
    """Uniform random search without repetition (a fixed random permutation of a finite space)."""

    name = "random"

    def suggest(self, state):
        cfg = self._random(state)
        return None if cfg is None else (cfg, "random")

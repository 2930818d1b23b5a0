"""PowerML: hyper-parameter search that pays for the hardware cost of training and inference.

Each iteration trains a small Keras network on scikit-learn's digits and scores it on held-out digits;
the optimiser minimises (PowerML, Eq. 2.6)::

    cost = alpha * train_cost^2 + beta * infer_cost^2 - gamma * score,   gamma = 1 - alpha - beta

with ``train_cost`` and ``infer_cost`` divided by those of the first iteration. Hardware cost comes from,
in order of preference:

1. ``measured``: energy from a readable power sensor (RAPL) around training and inference;
2. ``predicted``: inference energy from a layer-wise predictor model file (training taken as three forward
   passes per training sample and epoch, the usual forward+backward rule of thumb);
3. ``proxy``: PowerML's memory-access cycles from valgrind cachegrind
   (:class:`profiling.sensors.cachegrind.CachegrindSensor`), measured on a NumPy re-implementation of the
   network (:mod:`perfmodel.shape.numpy_workload`) because TensorFlow under valgrind is far too slow.

Every result says which source it used. Search spaces (PowerML, Sec. 2.5): ``dffr`` (layers 1-10, width
1-20, batch 2-128) and ``cnn`` (conv layers 1-10, filters 1-5, kernel 1-10, batch 2-128; then dense 128
and the classifier).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from profiling.atomic import atomic_write
from profiling.space import ConfigSpace, Integer

from .errors import ConfigError, DataError, ModelError, OptimisationError

__all__ = ["KINDS", "search_space", "check_weights", "powerml_cost", "ProxyEnergy", "SensorEnergy",
           "PredictedEnergy", "select_energy_source", "TuneResult", "tune", "load_data"]

KINDS = ("dffr", "cnn")
RESULT_FORMAT = "perfmodel.PowerMLTune"


def search_space(kind: str) -> ConfigSpace:
    """Seed 003's search space for ``kind`` (``dffr`` or ``cnn``)."""
    if kind == "dffr":
        knobs = (Integer("layers", 1, 10), Integer("width", 1, 20), Integer("batch_size", 2, 128))
    elif kind == "cnn":
        knobs = (Integer("layers", 1, 10), Integer("filters", 1, 5), Integer("kernel", 1, 10),
                 Integer("batch_size", 2, 128))
    else:
        raise ConfigError(f"unknown network kind {kind!r}; choose one of {', '.join(KINDS)}")
    return ConfigSpace(knobs, name=f"powerml-{kind}")


def check_weights(alpha: float, beta: float) -> float:
    """Return ``gamma = 1 - alpha - beta``; raise when a weight is negative or ``alpha + beta > 1``."""
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{name} must be a number >= 0, got {v!r}")
    gamma = 1.0 - alpha - beta
    if gamma < -1e-12:
        raise ConfigError(f"alpha + beta = {alpha + beta:g} exceeds 1: the weights alpha, beta and "
                          f"gamma = 1 - alpha - beta must be >= 0 and sum to 1")
    return max(gamma, 0.0)


def powerml_cost(train_cost: float, infer_cost: float, score: float, alpha: float, beta: float) -> float:
    """Seed 003, Eq. 2.6 on already normalised costs."""
    gamma = check_weights(alpha, beta)
    return alpha * train_cost**2 + beta * infer_cost**2 - gamma * score


# ----------------------------------------------------------------------------------------------- data
def load_data(n_train: int = 100, n_test: int = 100, classes: int = 2, seed: int = 0):
    """Digits ``0..classes-1`` (8x8) as ``(x_train, y_train, x_test, y_test)``, NHWC float32 in [0, 1].

    The default (digits 0 and 1, 100 images to train and 100 to test) mirrors PowerML's ``mnist_small``
    (MNIST 0s and 1s, 100 + 100) and keeps one iteration to seconds.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 2 <= classes <= 10:
        raise ConfigError(f"classes must be 2..10, got {classes}")
    X, y = load_digits(n_class=classes, return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
    if n_train < classes or n_test < classes or n_train + n_test > len(X):
        raise ConfigError(f"digits 0-{classes - 1} has {len(X)} images; n_train + n_test = {n_train + n_test} "
                          f"(each >= {classes})")
    Xtr, Xte, ytr, yte = train_test_split(X, y, train_size=n_train, test_size=n_test, random_state=seed,
                                          stratify=y)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


def build_network(kind: str, cfg: Mapping[str, int], input_shape=(8, 8, 1), num_classes: int = 10):
    """The Keras network of a configuration (PowerML's DFFR or CNN)."""
    from .shape._tf import keras_and_tf

    keras, _ = keras_and_tf()
    L = keras.layers
    inp = keras.Input(input_shape)
    x = inp
    if kind == "dffr":
        x = L.Flatten()(x)
        for _ in range(int(cfg["layers"])):
            x = L.Dense(int(cfg["width"]), activation="relu")(x)
    else:
        for _ in range(int(cfg["layers"])):
            x = L.Conv2D(int(cfg["filters"]), int(cfg["kernel"]), padding="same", activation="relu")(x)
        x = L.Flatten()(x)
        x = L.Dense(128, activation="relu")(x)
    out = L.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"powerml_{kind}")


@dataclass
class Net:
    """One evaluated configuration: its Keras model and the data it was trained and scored on."""

    kind: str
    config: dict
    model: Any
    data: tuple
    epochs: int
    infer_batch: int = 32

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(w, dtype=np.float32) for w in self.model.get_weights()]


# -------------------------------------------------------------------------------------- energy sources
class SensorEnergy:
    """Measured energy (J) of training and of inference over the test set, from a power sensor."""

    unit = "J"

    def __init__(self, sensor):
        ok, why = sensor.availability()
        if not ok:
            from profiling.errors import SensorUnavailable

            raise SensorUnavailable(f"{sensor.name}: {why}")
        self.sensor = sensor
        self.source = f"measured:{sensor.name}"

    def costs(self, net: Net, fit: Callable[[], None]) -> tuple[float, float]:
        from profiling.sensors.window import power_window

        # one call each: the energy of one training run and of one inference pass over the test set
        e1 = power_window(fit, self.sensor, 0.0, min_calls=1)["energy_j"]
        e2 = power_window(lambda: net.model.predict(net.data[2], batch_size=net.infer_batch, verbose=0),
                          self.sensor, 0.0, min_calls=1)["energy_j"]
        if e1 is None or e2 is None:
            raise OptimisationError(f"{self.sensor.name} returned no energy reading")
        return float(e1), float(e2)


class PredictedEnergy:
    """Inference energy predicted by a layer-wise predictor model file; training = 3 forward passes per
    training sample per epoch (an assumption, stated in every output's source)."""

    unit = "J"

    def __init__(self, path: str, config: Mapping[str, Any] | None = None):
        from .shape.costs import LayerwiseCosts

        self._lw = LayerwiseCosts(path, config)
        self.source = f"predicted:{path} (training = 3 x forward)"

    def costs(self, net: Net, fit: Callable[[], None]) -> tuple[float, float]:
        from profiling.spec import NetworkSpec

        fit()
        df = self._lw.model.predict(NetworkSpec.from_keras(net.model), [self._lw.config])
        if "energy_j" not in df.columns or df["energy_j"].isna().any():
            raise ModelError(f"{self._lw.path}: the predictor gives no energy_j")
        e_batch = float(df["energy_j"].sum())  # energy of one forward pass at the model's batch size
        batch = float(self._lw.config.get("batch_size", self._lw.config.get("batch", 1)) or 1)
        per_sample = e_batch / batch
        n_train, n_test = len(net.data[0]), len(net.data[2])
        return 3.0 * per_sample * n_train * net.epochs, per_sample * n_test


class ProxyEnergy:
    """Seed 003's memory-access cycles (cachegrind) of the NumPy workload; see the module docstring.

    Training is one epoch and inference ``infer_repeats`` passes over the test set (constant factors cancel
    in the normalisation by the first iteration; the repeats lift inference above the few-thousand-cycle
    jitter of start-up). The start-up baseline (Python + NumPy + loading: the same script on the same
    files with phase ``none``) is measured for every network and subtracted; it varies by a few million
    cycles between networks, as much as a small network's inference, so one shared baseline is not
    enough. Results are cached per workload.
    """

    unit = "cycles (proxy)"

    def __init__(self, sensor=None, python: str | None = None, infer_repeats: int = 10):
        self.infer_repeats = int(infer_repeats)
        from profiling.sensors.cachegrind import CachegrindSensor

        self.sensor = sensor or CachegrindSensor()
        ok, why = self.sensor.availability()
        if not ok:
            from profiling.errors import SensorUnavailable

            raise SensorUnavailable(f"{self.sensor.name}: {why}")
        import sys

        self.python = python or sys.executable
        self.source = "proxy:cachegrind"
        self._cache: dict[str, float] = {}
        self._script = os.path.join(os.path.dirname(__file__), "shape", "numpy_workload.py")

    def _start(self, meta: dict, npz: str):
        return self.sensor.start([self.python, self._script, json.dumps(meta), npz])

    def costs(self, net: Net, fit: Callable[[], None]) -> tuple[float, float]:
        fit()
        w = net.weights()
        xtr, ytr, xte, _ = net.data
        base = {"kind": net.kind, "shapes": [list(a.shape) for a in w], "batch_size": int(net.config["batch_size"]),
                "infer_batch": net.infer_batch, "repeats": self.infer_repeats}
        arch = {k: v for k, v in net.config.items() if k != "batch_size"}
        keys = {"train": json.dumps([net.kind, net.config, len(xtr)], sort_keys=True),
                "infer": json.dumps([net.kind, arch, len(xte), net.infer_batch], sort_keys=True)}
        with tempfile.TemporaryDirectory() as tmp:
            npz = os.path.join(tmp, "arrays.npz")
            np.savez(npz, x_train=xtr, y_train=ytr, x_test=xte,
                     params=np.concatenate([a.ravel() for a in w]).astype(np.float32))
            procs = {phase: self._start({**base, "phase": phase}, npz)
                     for phase in ("train", "infer") if keys[phase] not in self._cache}
            if procs:  # same script, same files, stopping before the work: subtracts start-up exactly
                procs["none"] = self._start({**base, "phase": "none"}, npz)
            counts = {k: self.sensor.finish(p) for k, p in procs.items()}
        for phase in ("train", "infer"):
            if phase in counts:
                self._cache[keys[phase]] = self.sensor.cycles(counts[phase] - counts["none"])
        return self._cache[keys["train"]], self._cache[keys["infer"]]


def select_energy_source(mode: str = "auto", model: str | None = None, config: Mapping | None = None,
                         sensor: Any = None):
    """Pick the cost source: ``measured`` > ``predicted`` (needs ``model``) > ``proxy`` for ``auto``."""
    if mode not in ("auto", "measured", "predicted", "proxy"):
        raise ConfigError(f"unknown cost source {mode!r}; choose auto, measured, predicted or proxy")
    if mode in ("auto", "measured"):
        if sensor is None:
            from profiling.sensors.rapl import RaplSensor

            sensor = RaplSensor()
        ok, why = sensor.availability()
        if ok:
            return SensorEnergy(sensor)
        if mode == "measured":
            from profiling.errors import SensorUnavailable

            raise SensorUnavailable(f"no power sensor to measure energy: {sensor.name}: {why}")
    if mode == "predicted" or (mode == "auto" and model):
        if not model:
            raise ConfigError("cost source 'predicted' needs a layer-wise model file", param="model")
        return PredictedEnergy(model, config)
    return ProxyEnergy()


# ------------------------------------------------------------------------------------------------ tune
@dataclass
class TuneResult:
    """All iterations of one study; ``best`` is the iteration of lowest cost (PowerML, Fig. 2 row)."""

    kind: str
    alpha: float
    beta: float
    gamma: float
    source: str
    unit: str
    history: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> dict:
        h = self.history.dropna(subset=["cost"])
        return h.loc[h["cost"].idxmin()].to_dict()

    def to_dict(self) -> dict:
        def clean(d):
            return {k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()}

        return {"format": RESULT_FORMAT, "version": 1, "kind": self.kind, "alpha": self.alpha, "beta": self.beta,
                "gamma": self.gamma, "cost_source": self.source, "cost_unit": self.unit, "best": clean(self.best),
                "notes": self.notes, "history": [clean(r) for r in self.history.to_dict("records")]}

    def to_json(self, path: str | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path:
            atomic_write(path, text + "\n", error=DataError, what="result file")
        return text


def _study(space: ConfigSpace, strategy: str, n_init: int, seed: int, source: str):
    """An ask/tell study: the project's optimiser (:mod:`perfmodel.optimisation`)."""
    from .optimisation import Study

    return Study(space, ["cost"], strategy=strategy, n_init=n_init, seed=seed, source=source)


def tune(kind: str = "dffr", alpha: float = 0.0, beta: float = 0.0, n_iter: int = 10, *, energy=None,
         epochs: int = 10, n_train: int = 100, n_test: int = 100, classes: int = 2, strategy: str = "tpe", n_init: int = 5,
         seed: int = 0, progress: bool = False, data=None) -> TuneResult:
    """Run a PowerML study of ``n_iter`` iterations.

    Parameters
    ----------
    kind : {"dffr", "cnn"}
    alpha, beta : float
        Weights of the squared normalised training and inference costs; ``gamma = 1 - alpha - beta``
        weights the score (test accuracy).
    energy : SensorEnergy, PredictedEnergy or ProxyEnergy, optional
        Cost source (default: :func:`select_energy_source` ``("auto")``).
    strategy : {"tpe", "random", "bo"}
        Strategy of :class:`perfmodel.optimisation.Study`; PowerML uses TPE.
    n_init : int
        Random start-up iterations before TPE models (hyperopt's default of 20 would make a 10-iteration
        study pure random search).
    """
    gamma = check_weights(alpha, beta)
    if n_iter < 1 or epochs < 1:
        raise ConfigError("n_iter and epochs must be >= 1")
    space = search_space(kind)
    energy = energy or select_energy_source("auto")
    data = data or load_data(n_train, n_test, classes, seed)
    from .shape._tf import keras_and_tf

    keras, _ = keras_and_tf()
    study = _study(space, strategy, n_init, seed, energy.source)
    rows, first = [], None
    it = range(n_iter)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"tune {kind} a={alpha:g} b={beta:g}", leave=False)
    for _ in it:
        trial = study.ask()
        if trial is None:
            break
        cfg = dict(trial.config)
        keras.utils.set_random_seed(seed)
        model = build_network(kind, cfg, num_classes=int(max(data[1].max(), data[3].max())) + 1)
        model.compile(keras.optimizers.Adam(1e-2 if kind == "dffr" else 3e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        net = Net(kind, cfg, model, data, epochs)
        t0 = time.perf_counter()
        train_s = []

        def fit():
            t = time.perf_counter()
            model.fit(data[0], data[1], epochs=epochs, batch_size=int(cfg["batch_size"]), verbose=0)
            train_s.append(time.perf_counter() - t)

        train_raw, infer_raw = energy.costs(net, fit)
        score = float(model.evaluate(data[2], data[3], verbose=0, batch_size=256)[1])
        if first is None:
            first = (train_raw or 1.0, infer_raw or 1.0)
        tc, ic = train_raw / first[0], infer_raw / first[1]
        cost = powerml_cost(tc, ic, score, alpha, beta)
        study.tell(trial, {"cost": cost})
        rows.append({"iteration": len(rows) + 1, **cfg, "score": score, "train_cost": tc, "infer_cost": ic,
                     "train_cost_raw": train_raw, "infer_cost_raw": infer_raw, "cost": cost,
                     "params": int(model.count_params()), "train_time_s": train_s[0] if train_s else np.nan,
                     "iteration_s": time.perf_counter() - t0, "phase": trial.phase, "source": energy.source})
    history = pd.DataFrame(rows)
    return TuneResult(kind, alpha, beta, gamma, energy.source, energy.unit, history)

"""Worker process that measures (network, configuration) jobs with TensorFlow.

TensorFlow reads its thread settings only at start, so a worker measures only configurations that agree on
them: ``python -m profiling.executors.tf_worker JOB.json RESULT.json`` runs one job;
``python -m profiling.executors.tf_worker --serve`` reads ``JOB.json<TAB>RESULT.json`` lines on its standard
input and runs them one after another (the parent sends only jobs of one network with the same process-level
settings, :func:`profiling.executors.tf_executor.process_key`; the network is built once). The parent sets
environment variables (oneDNN, OpenMP options) before starting it; this module applies CPU affinity before
importing TensorFlow, then writes one JSON result file per job. See :mod:`profiling.executors.tf_executor`.

This module is the process entry and the job (the views ``whole``, ``isolated`` and ``inplace``, power); the
rest lives beside it: :mod:`~profiling.executors.tf_inplace` (the two in-place tracers),
:mod:`~profiling.executors.tf_xplane` (the profiler trace), :mod:`~profiling.executors.tf_fusion` (which layers
each kernel computes), :mod:`~profiling.executors.tf_model` (calling Keras layers).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

from ..atomic import atomic_write
from .tf_inplace import INPLACE_METHODS, frozen_inplace_rows, live_inplace_rows
from .tf_model import has_layer, materialise, takes_training

__all__ = ["INPLACE_METHODS", "main", "run_job", "serve"]


def _apply_affinity(cores: int | None) -> list[int]:
    allowed = sorted(os.sched_getaffinity(0))
    if cores:
        os.sched_setaffinity(0, allowed[:cores])
    return sorted(os.sched_getaffinity(0))


def main(argv: list[str]) -> int:
    if argv[1:] == ["--serve"]:
        return serve(sys.stdin)
    _exit_with_parent()
    _run_one(argv[1], argv[2], None)
    return 0


def serve(lines) -> int:
    """Run each ``JOB.json<TAB>RESULT.json`` line of ``lines`` in turn (affinity from the first job, one
    network cache); end at the end of the input."""
    _exit_with_parent()
    affinity = None
    networks: dict[Any, Any] = {}
    for line in lines:
        if not line.strip():
            continue
        job_path, result_path = line.rstrip("\n").split("\t")
        affinity = _run_one(job_path, result_path, affinity, networks)
    return 0


def _run_one(job_path: str, result_path: str, affinity: list[int] | None,
             networks: dict[Any, Any] | None = None) -> list[int]:
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    cfg = job["config"]
    if affinity is None:
        affinity = _apply_affinity(cfg.get("cores"))
    try:
        result = run_job(job, networks)
        result["affinity"] = affinity
    except MemoryError:
        result = {"status": "failed", "reason": "oom: MemoryError in worker"}
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, the campaign goes on
        result = {"status": "failed", "reason": f"crash: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
                  "traceback": traceback.format_exc()[-4000:]}
    atomic_write(result_path, json.dumps(result))
    return affinity


def _exit_with_parent() -> None:
    """End this worker when the campaign process dies (SIGKILL, SIGTERM, power loss of the parent).

    The worker runs in its own session, so without this an orphan would keep measuring and load the CPU
    under the resumed campaign.
    """
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def run_job(job: dict[str, Any], networks: dict[Any, Any] | None = None) -> dict[str, Any]:
    """Measure ``job``; ``networks`` (a worker's cache) keeps the built network for the next job."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from ..networks import load_network
    from ..reference import framework_reference
    from ..sensors.load import LoadMonitor
    from ..timing import TimingPolicy, summarize, time_callable

    cfg = job["config"]
    tf.config.threading.set_intra_op_parallelism_threads(int(cfg.get("threads", 0) or 0))
    tf.config.threading.set_inter_op_parallelism_threads(int(cfg.get("inter_op_threads", 0) or 0))
    policy = TimingPolicy(**job.get("policy", {}))
    batch = int(cfg.get("batch", 1))
    xla = bool(cfg.get("xla", False))
    views = job.get("views", ["whole"])
    sensor = _make_sensor(job.get("sensor"))

    ident = (job["network"], job.get("input_size"))
    if networks is not None and ident in networks:
        model, spec = networks[ident]
    else:
        model, spec = load_network(*ident)
        if networks is not None:
            networks[ident] = (model, spec)
    rows: list[dict[str, Any]] = []
    # the framework's per-operation speed at this moment, under this job's thread settings (stored on every row)
    reference = framework_reference(tf)

    window_s, idle_w = float(job.get("power_window_s") or 0.0), job.get("idle_power_w")
    step_s = float(job.get("power_step_s") or 0.0) or None

    def measure(fn, extra: dict[str, Any]) -> dict[str, Any]:
        with LoadMonitor() as mon:
            power = _with_power(sensor, lambda: time_callable(fn, policy), fn, window_s, idle_w, step_s)
        timing, pw = power
        row = {**extra, **timing.as_dict(), **pw, "other_load": mon.other_load}
        return row

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, *spec.input_shape)).astype("float32"))

    method = job.get("inplace_method", "live")
    if method not in INPLACE_METHODS:
        raise ValueError(f"unknown inplace_method {method!r}; choose {' or '.join(INPLACE_METHODS)}")
    # the function of the `whole` view; the live in-place view times it untraced and traces a twin of it
    net_fn = tf.function(lambda t: model(t, training=False), jit_compile=xla)
    if "whole" in views:
        rows.append(measure(lambda: net_fn(x).numpy(), {"view": "whole", "level": "network"}))

    overhead = None
    if "isolated" in views:
        empty = tf.function(lambda t: t, jit_compile=False)
        overhead = time_callable(lambda: empty(x).numpy(), policy).runtime_s
        for layer_spec in spec.compute_layers:
            if layer_spec.type == "dropout":
                continue
            layer = model.get_layer(layer_spec.name) if has_layer(model, layer_spec.name) else None
            if layer is None:
                continue
            inputs = [tf.constant(rng.standard_normal((batch, *s)).astype("float32")) for s in layer_spec.input_shapes]
            arg = inputs if len(inputs) > 1 else inputs[0]
            fn = tf.function(lambda a, _l=layer: _l(a, training=False) if takes_training(_l) else _l(a), jit_compile=xla)
            try:
                row = measure(lambda: materialise(fn(arg)), {"view": "isolated", "level": "layer",
                                                               "layer": layer_spec.name, "unit": layer_spec.name,
                                                               "layer_type": layer_spec.type})
            except Exception as exc:  # noqa: BLE001 - one odd layer must not lose the others
                row = {"view": "isolated", "level": "layer", "layer": layer_spec.name, "unit": layer_spec.name,
                       "layer_type": layer_spec.type, "status": "failed",
                       "reason": f"crash: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"}
            row["overhead_s"] = overhead
            rows.append(row)

    inplace_note = None
    if "inplace" in views:
        if xla:
            inplace_note = "in-place view not measured under xla=on (XLA clusters hide the layers)"
        else:
            with LoadMonitor() as mon:
                if method == "live":
                    inplace = live_inplace_rows(tf, model, spec, net_fn, x, job.get("trace_runs", 20), summarize)
                else:
                    inplace = frozen_inplace_rows(tf, model, spec, x, cfg, job.get("trace_runs", 20), summarize)
            for row in inplace:  # the traced runs share one load reading
                row["other_load"] = mon.other_load
            rows.extend(inplace)

    for row in rows:
        row.update(reference)
    return {"status": "ok", "spec": spec.to_dict(), "rows": rows, "note": inplace_note,
            "power_sensor": _sensor_label(sensor), "versions": _versions(tf)}


# ------------------------------------------------------------------------------------------- power
def _make_sensor(name: str | None):
    if name in (None, "none"):
        return None
    if name == "rapl":
        from ..sensors.rapl import RaplSensor

        sensor = RaplSensor(os.environ.get("PERFMODEL_POWERCAP_ROOT", "/sys/class/powercap"))
        ok, _ = sensor.availability()
        return sensor if ok else None
    # the platform's sensor, as the campaign names it (profiling.sensors.window.sensor_ref)
    from ..sensors.window import sensor_from_ref

    sensor = sensor_from_ref(name)
    ok, _ = sensor.availability()
    return sensor if ok else None


def _sensor_label(sensor) -> str:
    return sensor.name if sensor is not None else ""


def _with_power(sensor, work, fn, min_window_s: float = 0.0, idle_power_w=None, step_s=None):
    """Run ``work()`` (a timing loop), then, with a sensor, ``fn`` back to back for the power window.

    Energy per call is the window's energy / calls (:func:`profiling.sensors.window.power_window`, the one
    measurement of it). The window is ``min_window_s`` (the campaign's, 10 of the sensor's measured steps) or,
    for a job made without a power plan, :data:`~profiling.sensors.window.UNPLANNED_WINDOW_S`.
    """
    timing = work()
    if sensor is None:
        return timing, {"power_w": None, "energy_j": None}
    from ..sensors.window import UNPLANNED_WINDOW_S, power_window

    return timing, power_window(fn, sensor, min_window_s or UNPLANNED_WINDOW_S, step_s=step_s,
                                idle_power_w=idle_power_w)


def _versions(tf) -> dict[str, str]:
    import keras
    import numpy

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0]}


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Worker process that measures one (network, configuration) job with TensorFlow.

TensorFlow reads its thread settings only at start, so every configuration runs in a fresh process:
``python -m profiling.executors.tf_worker JOB.json RESULT.json``. The parent sets environment variables
(oneDNN, OpenMP options) before starting it; this module applies CPU affinity before importing TensorFlow,
then writes one JSON result file. See :mod:`profiling.executors.tf_executor`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from typing import Any


def _apply_affinity(cores: int | None) -> list[int]:
    allowed = sorted(os.sched_getaffinity(0))
    if cores:
        os.sched_setaffinity(0, allowed[:cores])
    return sorted(os.sched_getaffinity(0))


def main(argv: list[str]) -> int:
    job_path, result_path = argv[1], argv[2]
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    cfg = job["config"]
    affinity = _apply_affinity(cfg.get("cores"))
    _exit_with_parent()
    try:
        _test_fault(os.environ.get("PERFMODEL_FAULT", ""))
        result = run_job(job)
        result["affinity"] = affinity
    except MemoryError:
        result = {"status": "failed", "reason": "oom: MemoryError in worker"}
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, the campaign goes on
        result = {"status": "failed", "reason": f"crash: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
                  "traceback": traceback.format_exc()[-4000:]}
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, result_path)
    return 0


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


def _test_fault(fault: str) -> None:
    """Test hook (``PERFMODEL_FAULT=hang|oom|crash|error``): simulate a faulty measurement, fast, without TF."""
    if not fault:
        return
    if fault == "hang":
        while True:
            time.sleep(1)
    if fault == "oom":
        hog = []
        while len(hog) < 64:  # grows (pages written) until the parent's memory limit kills it; capped at 4 GiB
            hog.append(b"x" * (64 * 1024**2))
            time.sleep(0.02)
        while True:
            time.sleep(1)
    if fault == "crash":
        os.abort()
    if fault == "error":
        raise RuntimeError("fault injected by PERFMODEL_FAULT=error")
    raise ValueError(f"unknown PERFMODEL_FAULT {fault!r}")


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from ..networks import load_network
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

    model, spec = load_network(job["network"], job.get("input_size"))
    rows: list[dict[str, Any]] = []

    def measure(fn, extra: dict[str, Any]) -> dict[str, Any]:
        with LoadMonitor() as mon:
            power = _with_power(sensor, lambda: time_callable(fn, policy))
        timing, pw = power
        row = {**extra, **timing.as_dict(), **pw, "other_load": mon.other_load}
        return row

    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, *spec.input_shape)).astype("float32"))

    if "whole" in views:
        net_fn = tf.function(lambda t: model(t, training=False), jit_compile=xla)
        rows.append(measure(lambda: net_fn(x).numpy(), {"view": "whole", "level": "network"}))

    overhead = None
    if "isolated" in views:
        empty = tf.function(lambda t: t, jit_compile=False)
        overhead = time_callable(lambda: empty(x).numpy(), policy).runtime_s
        for layer_spec in spec.compute_layers:
            if layer_spec.type == "dropout":
                continue
            layer = model.get_layer(layer_spec.name) if _has_layer(model, layer_spec.name) else None
            if layer is None:
                continue
            inputs = [tf.constant(rng.standard_normal((batch, *s)).astype("float32")) for s in layer_spec.input_shapes]
            arg = inputs if len(inputs) > 1 else inputs[0]
            fn = tf.function(lambda a, _l=layer: _l(a, training=False) if _takes_training(_l) else _l(a), jit_compile=xla)
            try:
                row = measure(lambda: _materialise(fn(arg)), {"view": "isolated", "level": "layer",
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
                inplace = _inplace_rows(tf, model, spec, x, cfg, job.get("trace_runs", 20), summarize)
            for row in inplace:  # the traced runs share one load reading
                row["other_load"] = mon.other_load
            rows.extend(inplace)

    return {"status": "ok", "spec": spec.to_dict(), "rows": rows, "note": inplace_note,
            "power_sensor": _sensor_label(sensor), "versions": _versions(tf)}


def _materialise(out: Any) -> Any:
    if isinstance(out, (list, tuple)):
        return [o.numpy() for o in out]
    return out.numpy()


def _has_layer(model: Any, name: str) -> bool:
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def _takes_training(layer: Any) -> bool:
    return type(layer).__name__ in ("BatchNormalization", "Dropout", "SpatialDropout2D")


# ---------------------------------------------------------------------------------------- in place
def _layer_of(node_name: str, names: set[str], suffix: str = "") -> str | None:
    """The Keras layer a graph node belongs to, from the scopes in its name (deepest match wins).

    Keras names the scopes of a traced call ``<layer><suffix>`` (``conv1_1`` for layer ``conv1``); the
    suffix is read off the model's own scope so that a layer really named ``conv_1`` is not confused
    with the scope of ``conv``.
    """
    found = None
    for seg in node_name.split("/"):
        if suffix and seg.endswith(suffix) and seg[: -len(suffix)] in names:
            found = seg[: -len(suffix)]
        elif seg in names:
            found = seg
    return found


def _scope_suffix(node_names, model_name: str) -> str:
    for name in node_names:
        root = name.split("/")[0]
        m = re.fullmatch(re.escape(model_name) + r"(_\d+)", root)
        if m:
            return m.group(1)
    return ""


def _inplace_rows(tf, model, spec, x, cfg, trace_runs, summarize) -> list[dict[str, Any]]:
    """Per-op times inside the whole optimised graph (step stats), grouped into units of layers.

    A kernel that the runtime fused (conv + batch-norm + activation) is one unit: its layers are the layer of
    the node plus the layers whose constants it consumes.
    """
    import numpy as np
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    batch_shape = tuple(x.shape)
    cf = tf.function(lambda t: model(t, training=False)).get_concrete_function(tf.TensorSpec(batch_shape, tf.float32))
    frozen = convert_variables_to_constants_v2(cf)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen.graph.as_graph_def(), name="")
    conf = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=int(cfg.get("threads", 0) or 0),
                                    inter_op_parallelism_threads=int(cfg.get("inter_op_threads", 0) or 0))
    sess = tf.compat.v1.Session(graph=graph, config=conf)
    out_name, feed = frozen.outputs[0].name, {frozen.inputs[0].name: x.numpy()}
    for _ in range(3):
        sess.run(out_name, feed)
    # The untraced runtime of this frozen graph is what the units sum to; it differs from the Keras
    # function of the `whole` view, which reads variables and keeps batch-norm unfolded.
    graph_s = []
    for _ in range(max(int(trace_runs), 3)):
        t0 = time.perf_counter()
        sess.run(out_name, feed)
        graph_s.append(time.perf_counter() - t0)
    names = {layer.name for layer in spec.layers}
    order = {layer.name: i for i, layer in enumerate(spec.layers)}
    near = _neighbourhood(spec, hops=2)
    unit_of_node: dict[str, tuple[str, ...]] = {}
    per_unit: dict[tuple[str, ...], list[float]] = {}
    step_s: list[float] = []
    for run in range(max(int(trace_runs), 3)):
        opts = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE, output_partition_graphs=(run == 0))
        md = tf.compat.v1.RunMetadata()
        sess.run(out_name, feed, options=opts, run_metadata=md)
        if run == 0:
            for pg in md.partition_graphs:
                ops = {n.name: n for n in pg.node}
                suffix = _scope_suffix(ops, model.name)
                for n in pg.node:
                    if n.op in ("Const", "_Arg", "_Retval", "NoOp", "Identity"):
                        continue
                    main = _layer_of(n.name, names, suffix)
                    if main is None:
                        continue
                    members = {main}
                    for inp in n.input:
                        src = inp.lstrip("^").split(":")[0]
                        if src in ops and _is_weight(ops[src]):
                            owner = _layer_of(src, names, suffix)
                            # Identical constants (untrained batch-norms) are deduplicated across the graph:
                            # only a neighbour's weights mean fusion.
                            if owner and owner in near.get(main, ()):
                                members.add(owner)
                    unit_of_node[n.name] = tuple(sorted(members, key=order.get))
        totals: dict[tuple[str, ...], float] = {}
        starts, ends = [], []
        for dev in md.step_stats.dev_stats:
            for ns in dev.node_stats:
                unit = unit_of_node.get(ns.node_name)
                if unit is None:
                    continue
                totals[unit] = totals.get(unit, 0.0) + ns.all_end_rel_micros * 1e-6
                starts.append(ns.all_start_micros)
                ends.append(ns.all_start_micros + ns.all_end_rel_micros)
        for unit, t in totals.items():
            per_unit.setdefault(unit, []).append(t)
        if starts:
            step_s.append((max(ends) - min(starts)) * 1e-6)
    sess.close()
    # A layer that appears in several units (e.g. batch-norm constants folded into two convs) keeps them apart.
    rows = []
    by_type = {layer.name: layer.type for layer in spec.layers}
    for unit in sorted(per_unit, key=lambda u: order[u[0]]):
        main = _main_layer(unit, by_type)
        r = summarize(per_unit[unit]).as_dict()
        rows.append({"view": "inplace", "level": "layer", "layer": main, "unit": "+".join(unit),
                     "layer_type": by_type[main], **r, "traced_step_s": float(np.median(step_s)) if step_s else None,
                     "graph_runtime_s": float(np.median(graph_s))})
    return rows


def _neighbourhood(spec, hops: int) -> dict[str, set[str]]:
    """Layers within ``hops`` producer/consumer steps of each layer."""
    adj: dict[str, set[str]] = {layer.name: set() for layer in spec.layers}
    for layer in spec.layers:
        for src in layer.inputs:
            adj[layer.name].add(src)
            adj[src].add(layer.name)
    out = {}
    for name in adj:
        seen, frontier = {name}, {name}
        for _ in range(hops):
            frontier = {n for f in frontier for n in adj[f]} - seen
            seen |= frontier
        out[name] = seen
    return out


def _is_weight(node) -> bool:
    """A floating-point constant tensor with more than one element: weights, biases, folded batch-norm.

    Scalars (hard-swish's 3 and 6) and integer constants (paddings, axes) are shared across layers and
    say nothing about fusion.
    """
    if node.op != "Const" or node.attr["dtype"].type not in (1, 2, 14, 19):  # float, double, bfloat16, half
        return False
    size = 1
    for d in node.attr["value"].tensor.tensor_shape.dim:
        size *= max(int(d.size), 0)
    return size > 1


_MAIN_PRIORITY = ("conv2d", "depthwise_conv2d", "separable_conv2d", "dense")


def _main_layer(unit: tuple[str, ...], by_type: dict[str, str]) -> str:
    for t in _MAIN_PRIORITY:
        for name in unit:
            if by_type[name] == t:
                return name
    return unit[0]


# ------------------------------------------------------------------------------------------- power
def _make_sensor(name: str | None):
    if name in (None, "none"):
        return None
    if name == "rapl":
        from ..sensors.rapl import RaplSensor

        sensor = RaplSensor(os.environ.get("PERFMODEL_POWERCAP_ROOT", "/sys/class/powercap"))
        ok, _ = sensor.availability()
        return sensor if ok else None
    return None


def _sensor_label(sensor) -> str:
    return sensor.name if sensor is not None else ""


def _with_power(sensor, work):
    """Run ``work()`` (a timing loop) under the power sampler; energy is per call."""
    if sensor is None:
        return work(), {"power_w": None, "energy_j": None}
    from ..sensors.base import PowerSampler

    with PowerSampler(sensor) as sampler:
        t0 = time.perf_counter()
        timing = work()
        elapsed = time.perf_counter() - t0
    trace = sampler.trace
    power = trace.mean_power_w() if trace else None
    calls = timing.repeats  # warm-up calls are outside the timed window's count but inside the power window
    energy = power * timing.runtime_s if power is not None else None
    out = {"power_w": power, "energy_j": energy, "power_window_s": elapsed, "power_calls": calls}
    if trace is not None and trace.errors:  # a failed sensor read is recorded, the measurement goes on
        out["sensor_error"] = trace.errors[0][:200]
    return timing, out


def _versions(tf) -> dict[str, str]:
    import keras
    import numpy

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0]}


if __name__ == "__main__":
    sys.exit(main(sys.argv))

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

from ..atomic import atomic_write


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
        result = run_job(job)
        result["affinity"] = affinity
    except MemoryError:
        result = {"status": "failed", "reason": "oom: MemoryError in worker"}
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, the campaign goes on
        result = {"status": "failed", "reason": f"crash: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}",
                  "traceback": traceback.format_exc()[-4000:]}
    atomic_write(result_path, json.dumps(result))
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


def run_job(job: dict[str, Any]) -> dict[str, Any]:
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

    model, spec = load_network(job["network"], job.get("input_size"))
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
                if method == "live":
                    inplace = _live_inplace_rows(tf, model, spec, net_fn, x, job.get("trace_runs", 20), summarize)
                else:
                    inplace = _inplace_rows(tf, model, spec, x, cfg, job.get("trace_runs", 20), summarize)
            for row in inplace:  # the traced runs share one load reading
                row["other_load"] = mon.other_load
            rows.extend(inplace)

    for row in rows:
        row.update(reference)
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
INPLACE_METHODS = ("live", "frozen")


def _layer_of(node_name: str, names: set[str], suffix: str = "") -> str | None:
    """The Keras layer a graph node belongs to, from the scopes in its name (outermost layer scope wins).

    Keras names the scopes of a traced call ``<layer>_<k>`` when the model's own scope has such a suffix
    (``conv1_1`` for layer ``conv1``; ``conv2d_1_2`` for layer ``conv2d_1`` when ``conv2d_1`` was already taken
    by layer ``conv2d``), so with a suffix one trailing ``_<k>`` is stripped: a layer really named ``conv_1``
    is not confused with the scope of ``conv``. The last segment is the op's own name (``batchnorm/add_1``
    is an op, not layer ``add``); inner scopes of a layer (``separable_conv2d/depthwise``) come after the
    layer's scope, and a nested model's scope is not a layer of the flattened spec, so the first match is
    the layer.
    """
    segs = node_name.split("/")
    for seg in segs[:-1] if len(segs) > 1 else segs:
        if suffix:
            m = re.fullmatch(r"(.+)_\d+", seg)
            if m and m.group(1) in names:
                return m.group(1)
        if seg in names:
            return seg
    return None


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
                     "graph_runtime_s": float(np.median(graph_s)), "inplace_method": "frozen"})
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


# ------------------------------------------------------------------------------------- live in place
_CALL_EVENT = "perfmodel_inplace_call"
_DT_RESOURCE = 20
_NOT_KERNELS = ("_Arg", "_Retval", "NoOp", "Placeholder")
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf", "Case")
# layers whose ops may vanish without their work moving anywhere: never absorbed into a neighbour's unit
_NO_WORK = ("input", "dropout", "reshape")
# ops that only read or pass on weights (charged to their layer without the graph)
_PARAM_OPS = ("ReadVariableOp", "Const", "Identity", "ResourceGather")


def _first_call_graph(tf, fn, x) -> list | None:
    """First call of ``fn`` with run metadata on: the nodes of the graph its runtime executes.

    TensorFlow records a function's graphs when it instantiates it, so this must be the function's first call.
    Returns the partition graphs (after Grappler and the oneDNN rewrite: the nodes the profiler names) or,
    without them, the post-optimisation graph; ``None`` when run metadata holds neither.
    """
    from tensorflow.python.eager import context

    context.enable_run_metadata()
    try:
        _materialise(fn(x))
        md = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    nodes = []
    for fg in md.function_graphs:
        if fg.partition_graphs:
            for pg in fg.partition_graphs:
                nodes.extend(pg.node)
        else:
            nodes.extend(fg.post_optimization_graph.node)
    return nodes or None


def _xplane_module():
    """The XPlane protobuf module shipped in the TensorFlow wheel (its path moved between releases)."""
    import importlib

    for mod in ("tensorflow.tsl.profiler.protobuf.xplane_pb2", "tsl.profiler.protobuf.xplane_pb2",
                "tensorflow.core.profiler.protobuf.xplane_pb2"):
        try:
            return importlib.import_module(mod)
        except ImportError:
            continue
    raise ImportError("no xplane_pb2 module in this TensorFlow installation")


def _trace_calls(tf, fn, x, runs: int):
    """Call ``fn(x)`` ``runs`` times under the TF profiler; return the host plane's XSpace (parsed)."""
    import glob
    import tempfile

    xplane_pb2 = _xplane_module()
    with tempfile.TemporaryDirectory(prefix="perfmodel-trace-") as logdir:
        # (TF 2.21 applies its default host tracer level, 2, whatever the options say: cheap kernels that the
        # executor has learnt to run inline are not traced; see _live_inplace_rows)
        opts = tf.profiler.experimental.ProfilerOptions(host_tracer_level=2, python_tracer_level=0,
                                                        device_tracer_level=0)
        tf.profiler.experimental.start(logdir, options=opts)
        try:
            for i in range(runs):
                with tf.profiler.experimental.Trace(_CALL_EVENT, call=i):
                    _materialise(fn(x))
        finally:
            tf.profiler.experimental.stop()
        paths = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
        if not paths:
            raise RuntimeError("the TF profiler wrote no trace (plugins/profile/*/*.xplane.pb)")
        space = xplane_pb2.XSpace()
        with open(paths[-1], "rb") as fh:
            space.ParseFromString(fh.read())
    return space


def _calls_from_xspace(space) -> list[dict[str, Any]]:
    """Traced calls and the op events inside each, from the host plane of an XSpace.

    Returns one dict per traced call (in call order): ``span_ps`` (wall span of the call) and ``ops``, a list of
    ``(node_name, op_type, start_ps, duration_ps)`` for the TensorFlow op events that start inside the call
    (op events are named ``<node>:<op type>``; they lie on the executor threads' lines).
    """
    import bisect

    calls: list[tuple[int, int]] = []
    ops: list[tuple[str, str, int, int]] = []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            base = int(line.timestamp_ns) * 1000
            for ev in line.events:
                md = plane.event_metadata.get(ev.metadata_id)
                if md is None:
                    continue
                start = base + int(ev.offset_ps)
                if md.name.split("#", 1)[0] == _CALL_EVENT:
                    calls.append((start, start + int(ev.duration_ps)))
                elif md.display_name and md.name.endswith(":" + md.display_name):
                    node = md.name[: -len(md.display_name) - 1]
                    if node and md.display_name not in _CALL_OPS:
                        ops.append((node, md.display_name, start, int(ev.duration_ps)))
    calls.sort()
    out = [{"start_ps": a, "span_ps": b - a, "ops": []} for a, b in calls]
    starts = [a for a, _ in calls]
    for op in ops:
        i = bisect.bisect_right(starts, op[2]) - 1
        if i >= 0 and op[2] <= calls[i][1]:
            out[i]["ops"].append(op)
    return out


class _Units:
    """Union-find over layer parts; a part is ``(layer, half)``, half ``dw``/``pw`` for separable layers."""

    def __init__(self):
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, a):
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _part(layer: str, by_type: dict[str, str], op_type: str = "") -> tuple[str, str]:
    if by_type.get(layer) == "separable_conv2d":
        return (layer, "dw" if "Depthwise" in op_type else "pw")
    return (layer, "")


def _kernel_parts_from_graph(nodes, spec, names, suffix) -> tuple[dict[str, set], dict[str, tuple[str, str]], set]:
    """Fusion membership from the executed graph.

    Returns ``(members, param_part, data)``: for each kernel on the data path (ops that depend on the network's
    input), the set of layer parts it computes; for each parameter-side node (variable reads and what is
    computed from weights alone), the part it is charged to; and the names of the data-path nodes.

    A kernel computes its own layer (by its name scope), the neighbouring layers (2 hops in the spec) whose
    weights it reads (through ReadVariableOp / Identity / Cast / Reshape ... from the variables, or from float
    constants), and the neighbouring layers between it and its inputs whose ops vanished from the graph (e.g. a
    zero-padding or an add fused into a convolution).
    """
    by_name = {n.name: n for n in nodes}
    by_type = {layer.name: layer.type for layer in spec.layers}
    near = _neighbourhood(spec, hops=2)

    def src(inp: str) -> str:
        return inp.split(":")[0]

    consumers: dict[str, list[str]] = {}
    for n in nodes:
        for inp in n.input:
            if not inp.startswith("^"):
                consumers.setdefault(src(inp), []).append(n.name)
    data = set()
    frontier = [n.name for n in nodes if n.op in ("_Arg", "Placeholder")
                and n.attr["T" if n.op == "_Arg" else "dtype"].type != _DT_RESOURCE]
    while frontier:
        name = frontier.pop()
        if name in data:
            continue
        data.add(name)
        frontier.extend(consumers.get(name, ()))
    kernels = [n for n in nodes if n.name in data and n.op not in _NOT_KERNELS]
    layer = {n.name: _layer_of(n.name, names, suffix) for n in nodes}
    active = {layer[k.name] for k in kernels if layer[k.name]}
    outputs: dict[str, list[str]] = {}
    for lyr in spec.layers:
        for s in lyr.inputs:
            outputs.setdefault(s, []).append(lyr.name)
    inputs_of = {lyr.name: list(lyr.inputs) for lyr in spec.layers}

    def weight_owners(start: str) -> set[str]:
        owners, seen, todo = set(), set(), [start]
        while todo:
            name = todo.pop()
            if name in seen or name in data or name not in by_name:
                continue
            seen.add(name)
            node = by_name[name]
            if node.op in ("ReadVariableOp", "ResourceGather") or _is_weight(node):
                if layer[name]:
                    owners.add(layer[name])
                continue
            todo.extend(src(i) for i in node.input if not i.startswith("^"))
        return owners

    members: dict[str, set] = {}
    for k in kernels:
        main = layer[k.name]
        if main is None:
            continue
        mem = {_part(main, by_type, k.op)}
        for inp in k.input:
            if inp.startswith("^") or src(inp) in data:
                continue
            for owner in weight_owners(src(inp)):
                if owner != main and owner in near.get(main, ()):
                    mem.add(_part(owner, by_type))
        # silent neighbours upstream: their ops are gone, so this kernel does their work
        todo = [(s, 1) for s in inputs_of.get(main, ())]
        while todo:
            s, hops = todo.pop()
            if (s in active or by_type.get(s) in _NO_WORK or hops > 2 or len(outputs.get(s, ())) != 1
                    or s not in by_type):
                continue
            mem.add(_part(s, by_type))
            todo.extend((t, hops + 1) for t in inputs_of.get(s, ()))
        members[k.name] = mem
    param_part: dict[str, tuple[str, str]] = {}
    for n in nodes:
        if n.name in data or n.op in _NOT_KERNELS or layer[n.name] is None:
            continue
        own = layer[n.name]
        part = _part(own, by_type)
        if by_type.get(own) == "separable_conv2d":  # the half whose kernel reads it
            todo, seen = [n.name], set()
            while todo:
                name = todo.pop()
                if name in seen:
                    continue
                seen.add(name)
                for c in consumers.get(name, ()):
                    if c in data:
                        if layer.get(c) == own:
                            part = _part(own, by_type, by_name[c].op)
                            todo = []
                            break
                    else:
                        todo.append(c)
        param_part[n.name] = part
    return members, param_part, data


def _kernel_parts_by_name(ops, spec, names, suffix) -> tuple[dict[str, set], dict[str, tuple[str, str]], set]:
    """Fallback without the executed graph: membership from the op names and types in the trace alone.

    A fused kernel (op type with ``Fused``) named after an activation / batch-norm / add layer computes the
    nearest upstream conv / depthwise / separable / dense layer within 2 hops and the layers between.
    Variable reads are charged to their layer.
    """
    by_type = {layer.name: layer.type for layer in spec.layers}
    inputs_of = {lyr.name: list(lyr.inputs) for lyr in spec.layers}
    members: dict[str, set] = {}
    param_part: dict[str, tuple[str, str]] = {}
    data = set()
    kinds = {}
    for node, op_type, _, _ in ops:
        if node not in kinds:
            kinds[node] = (op_type, _layer_of(node, names, suffix))
    active = {main for op_type, main in kinds.values() if main and op_type not in _PARAM_OPS}
    for node, (op_type, main) in kinds.items():
        if main is None:
            continue
        if op_type in _PARAM_OPS:
            param_part[node] = _part(main, by_type)
            continue
        data.add(node)
        mem = {_part(main, by_type, op_type)}
        if "Fused" in op_type and by_type.get(main) not in _MAIN_PRIORITY:
            # the fused layers run no kernel of their own: the nearest such conv / dense upstream, 2 hops at most
            paths = [[s] for s in inputs_of.get(main, ()) if s not in active]
            for _ in range(2):
                hit = next((p for p in paths if by_type.get(p[-1]) in _MAIN_PRIORITY), None)
                if hit:
                    mem.update(_part(s, by_type) for s in hit)
                    break
                paths = [p + [s] for p in paths for s in inputs_of.get(p[-1], ()) if s not in active]
        members[node] = mem
    return members, param_part, data


def _live_inplace_rows(tf, model, spec, fn, x, trace_runs, summarize, use_graph: bool = True) -> list[dict[str, Any]]:
    """Per-op times inside the live compiled function of the `whole` view (TF profiler), grouped into units.

    ``fn`` is the ``tf.function`` whose runtime the `whole` view reports: its median untraced runtime here is
    ``graph_runtime_s``. The traced calls are of a twin of it (``tf.function`` of the same model call: the same
    graph after Grappler), instantiated here: TensorFlow's executor stops emitting events for the cheap kernels
    (variable reads, activations, ...) once its cost estimates have settled, after some 70 calls of a function,
    and then runs them inline; a freshly instantiated twin, traced after two warm-up calls, shows every kernel.
    Its first call, with run metadata on, gives the executed graph that tells which layers each fused kernel
    computes (without it, or with ``use_graph`` false, membership falls back to names:
    :func:`_kernel_parts_by_name`). Each unit's time is the sum of its op events in one traced call, median over
    calls. Variable reads and other weight-only ops (batch-norm's rsqrt of the variance, ...) are charged to their
    layer's unit. Rows come in execution order; a separable convolution gives two rows (depthwise half first)
    unless both halves fall into one unit.
    """
    import numpy as np

    runs = max(int(trace_runs), 3)
    for _ in range(3):
        _materialise(fn(x))
    untraced = []
    for _ in range(runs):
        t0 = time.perf_counter()
        _materialise(fn(x))
        untraced.append(time.perf_counter() - t0)
    twin = tf.function(lambda t: model(t, training=False))
    graph_nodes = _first_call_graph(tf, twin, x) if use_graph else None
    for _ in range(2):
        _materialise(twin(x))
    calls = [c for c in _calls_from_xspace(_trace_calls(tf, twin, x, runs)) if c["ops"]]
    if not calls:
        raise RuntimeError("the TF profiler recorded no op events inside the traced calls")

    names = {layer.name for layer in spec.layers}
    by_type = {layer.name: layer.type for layer in spec.layers}
    order = {layer.name: i for i, layer in enumerate(spec.layers)}
    seen_nodes = [op[0] for c in calls for op in c["ops"]]
    if graph_nodes:
        suffix = _scope_suffix([n.name for n in graph_nodes] + seen_nodes, model.name)
        members, param_part, data = _kernel_parts_from_graph(graph_nodes, spec, names, suffix)
        graph_names = {n.name for n in graph_nodes}
        if not any(node in graph_names for node in seen_nodes):  # the trace is of another graph: use names
            members, param_part, data = _kernel_parts_by_name([op for c in calls for op in c["ops"]], spec,
                                                              names, suffix)
    else:
        suffix = _scope_suffix(seen_nodes, model.name)
        members, param_part, data = _kernel_parts_by_name([op for c in calls for op in c["ops"]], spec, names,
                                                          suffix)
    uf = _Units()
    for mem in members.values():
        mem = sorted(mem)
        for m in mem:
            uf.find(m)
        for m in mem[1:]:
            uf.union(mem[0], m)
    for part in param_part.values():
        uf.find(part)
    _separate_halves(uf, spec, by_type)

    def unit_of(node: str):
        if node in members:
            return uf.find(next(iter(members[node])))
        if node in param_part:
            return uf.find(param_part[node])
        return None

    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for part in list(uf.parent):
        groups.setdefault(uf.find(part), []).append(part)
    per_unit: dict[tuple[str, str], list[float]] = {}
    data_start: dict[tuple[str, str], float] = {}  # first start of a unit's data-path kernel in the first call
    any_start: dict[tuple[str, str], float] = {}
    unattributed, spans, outside = [], [], []
    cache: dict[str, Any] = {}
    for ci, call in enumerate(calls):
        totals: dict[tuple[str, str], float] = {}
        lost = 0.0
        for node, _, start, dur in call["ops"]:
            if node not in cache:
                cache[node] = unit_of(node)
            root = cache[node]
            if root is None:
                lost += dur * 1e-12
                continue
            totals[root] = totals.get(root, 0.0) + dur * 1e-12
            if ci == 0:
                rel = (start - call["start_ps"]) * 1e-12
                starts = data_start if node in data else any_start
                starts[root] = min(starts.get(root, rel), rel)
        for root, t in totals.items():
            per_unit.setdefault(root, []).append(t)
        unattributed.append(lost)
        spans.append(call["span_ps"] * 1e-12)
        outside.append(spans[-1] - lost - sum(totals.values()))

    def sort_key(root):
        # execution order of the units' compute kernels; units of weight reads alone after them, in spec order
        first = min(order[p[0]] for p in groups[root])
        return (0, data_start[root], first) if root in data_start else (1, first, any_start.get(root, 0.0))

    rows = []
    step = float(np.median(spans))
    for root in sorted(per_unit, key=sort_key):
        parts = groups[root]
        layers = sorted({p[0] for p in parts}, key=order.get)
        main = _main_layer(tuple(layers), by_type)
        r = summarize(per_unit[root]).as_dict()
        rows.append({"view": "inplace", "level": "layer", "layer": main, "unit": "+".join(layers),
                     "layer_type": by_type[main], **r, "traced_step_s": step,
                     "graph_runtime_s": float(np.median(untraced)), "overhead_s": float(np.median(outside)),
                     "unattributed_s": float(np.median(unattributed)), "inplace_method": "live"})
    return rows


def _separate_halves(uf: _Units, spec, by_type: dict[str, str]) -> None:
    """Keep the two halves of a separable convolution in two units with distinct names, or join them.

    In the live graph the pointwise kernel is not fused with the batch-norm after it, so both halves would be
    units named after the layer alone. The pointwise half then takes the batch-norm that alone consumes the layer
    (``sep`` = depthwise, ``sep+sep_bn`` = pointwise + batch-norm, as in the frozen graph, where they fuse);
    without such a batch-norm the halves are one unit.
    """
    outputs: dict[str, list[str]] = {}
    for lyr in spec.layers:
        for s in lyr.inputs:
            outputs.setdefault(s, []).append(lyr.name)
    inputs_of = {lyr.name: list(lyr.inputs) for lyr in spec.layers}
    for lyr in spec.layers:
        if lyr.type != "separable_conv2d":
            continue
        dw, pw = (lyr.name, "dw"), (lyr.name, "pw")
        if dw not in uf.parent or pw not in uf.parent:
            if dw in uf.parent or pw in uf.parent:
                uf.union(dw, pw)
            continue
        rdw, rpw = uf.find(dw), uf.find(pw)
        if rdw == rpw:
            continue
        layers_dw = {q[0] for q in list(uf.parent) if uf.find(q) == rdw}
        layers_pw = {q[0] for q in list(uf.parent) if uf.find(q) == rpw}
        if layers_dw != layers_pw:
            continue
        nxt = outputs.get(lyr.name, [])
        if len(nxt) == 1 and by_type.get(nxt[0]) == "batch_norm" and inputs_of.get(nxt[0]) == [lyr.name] \
                and (nxt[0], "") in uf.parent:
            uf.union(pw, (nxt[0], ""))
        else:
            uf.union(dw, pw)


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


def _with_power(sensor, work, fn=None, min_window_s: float = 0.0, idle_power_w=None, step_s=None):
    """Run ``work()`` (a timing loop) under the power sampler; energy is per call.

    With ``min_window_s`` (the campaign's window, 10 of the sensor's measured steps), power comes from
    ``fn`` run back to back for that window after the timing loop (profiling.sensors.window.power_window).
    """
    if sensor is None:
        return work(), {"power_w": None, "energy_j": None}
    if min_window_s > 0 and fn is not None:
        from ..sensors.window import power_window

        timing = work()
        return timing, power_window(fn, sensor, min_window_s, step_s=step_s, idle_power_w=idle_power_w)
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

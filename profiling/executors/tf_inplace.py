"""The in-place view of the TensorFlow worker: per-unit times inside the whole network's graph.

Two tracers: ``live`` (:func:`live_inplace_rows`, the TF profiler on the compiled function of the `whole` view)
and ``frozen`` (:func:`frozen_inplace_rows`, step stats of the frozen graph in a v1 session). Both group op
times into units of layers with :mod:`profiling.executors.tf_fusion`. TensorFlow is passed in (``tf``), never
imported here.
"""

from __future__ import annotations

import time
from typing import Any

from .tf_fusion import (Units, is_weight, kernel_parts_by_name, kernel_parts_from_graph, layer_of, main_layer,
                        neighbourhood, scope_suffix, separate_halves)
from .tf_model import materialise
from .tf_xplane import calls_from_xspace, trace_calls

__all__ = ["INPLACE_METHODS", "frozen_inplace_rows", "live_inplace_rows", "first_call_graph"]

INPLACE_METHODS = ("live", "frozen")


def frozen_inplace_rows(tf, model, spec, x, cfg, trace_runs, summarize) -> list[dict[str, Any]]:
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
    near = neighbourhood(spec, hops=2)
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
                suffix = scope_suffix(ops, model.name)
                for n in pg.node:
                    if n.op in ("Const", "_Arg", "_Retval", "NoOp", "Identity"):
                        continue
                    main = layer_of(n.name, names, suffix)
                    if main is None:
                        continue
                    members = {main}
                    for inp in n.input:
                        src = inp.lstrip("^").split(":")[0]
                        if src in ops and is_weight(ops[src]):
                            owner = layer_of(src, names, suffix)
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
        main = main_layer(unit, by_type)
        r = summarize(per_unit[unit]).as_dict()
        rows.append({"view": "inplace", "level": "layer", "layer": main, "unit": "+".join(unit),
                     "layer_type": by_type[main], **r, "traced_step_s": float(np.median(step_s)) if step_s else None,
                     "graph_runtime_s": float(np.median(graph_s)), "inplace_method": "frozen"})
    return rows


def first_call_graph(tf, fn, x) -> list | None:
    """First call of ``fn`` with run metadata on: the nodes of the graph its runtime executes.

    TensorFlow records a function's graphs when it instantiates it, so this must be the function's first call.
    Returns the partition graphs (after Grappler and the oneDNN rewrite: the nodes the profiler names) or,
    without them, the post-optimisation graph; ``None`` when run metadata holds neither.
    """
    from tensorflow.python.eager import context

    context.enable_run_metadata()
    try:
        materialise(fn(x))
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


def live_inplace_rows(tf, model, spec, fn, x, trace_runs, summarize, use_graph: bool = True) -> list[dict[str, Any]]:
    """Per-op times inside the live compiled function of the `whole` view (TF profiler), grouped into units.

    ``fn`` is the ``tf.function`` whose runtime the `whole` view reports: its median untraced runtime here is
    ``graph_runtime_s``. The traced calls are of a twin of it (``tf.function`` of the same model call: the same
    graph after Grappler), instantiated here: TensorFlow's executor stops emitting events for the cheap kernels
    (variable reads, activations, ...) once its cost estimates have settled, after some 70 calls of a function,
    and then runs them inline; a freshly instantiated twin, traced after two warm-up calls, shows every kernel.
    Its first call, with run metadata on, gives the executed graph that tells which layers each fused kernel
    computes (without it, or with ``use_graph`` false, membership falls back to names:
    :func:`kernel_parts_by_name`). Each unit's time is the sum of its op events in one traced call, median over
    calls. Variable reads and other weight-only ops (batch-norm's rsqrt of the variance, ...) are charged to their
    layer's unit. Rows come in execution order; a separable convolution gives two rows (depthwise half first)
    unless both halves fall into one unit.
    """
    import numpy as np

    runs = max(int(trace_runs), 3)
    for _ in range(3):
        materialise(fn(x))
    untraced = []
    for _ in range(runs):
        t0 = time.perf_counter()
        materialise(fn(x))
        untraced.append(time.perf_counter() - t0)
    twin = tf.function(lambda t: model(t, training=False))
    graph_nodes = first_call_graph(tf, twin, x) if use_graph else None
    for _ in range(2):
        materialise(twin(x))
    calls = [c for c in calls_from_xspace(trace_calls(tf, twin, x, runs)) if c["ops"]]
    if not calls:
        raise RuntimeError("the TF profiler recorded no op events inside the traced calls")

    names = {layer.name for layer in spec.layers}
    by_type = {layer.name: layer.type for layer in spec.layers}
    order = {layer.name: i for i, layer in enumerate(spec.layers)}
    seen_nodes = [op[0] for c in calls for op in c["ops"]]
    if graph_nodes:
        suffix = scope_suffix([n.name for n in graph_nodes] + seen_nodes, model.name)
        members, param_part, data = kernel_parts_from_graph(graph_nodes, spec, names, suffix)
        graph_names = {n.name for n in graph_nodes}
        if not any(node in graph_names for node in seen_nodes):  # the trace is of another graph: use names
            members, param_part, data = kernel_parts_by_name([op for c in calls for op in c["ops"]], spec,
                                                              names, suffix)
    else:
        suffix = scope_suffix(seen_nodes, model.name)
        members, param_part, data = kernel_parts_by_name([op for c in calls for op in c["ops"]], spec, names,
                                                          suffix)
    uf = Units()
    for mem in members.values():
        mem = sorted(mem)
        for m in mem:
            uf.find(m)
        for m in mem[1:]:
            uf.union(mem[0], m)
    for part in param_part.values():
        uf.find(part)
    separate_halves(uf, spec, by_type)

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
        main = main_layer(tuple(layers), by_type)
        r = summarize(per_unit[root]).as_dict()
        rows.append({"view": "inplace", "level": "layer", "layer": main, "unit": "+".join(layers),
                     "layer_type": by_type[main], **r, "traced_step_s": step,
                     "graph_runtime_s": float(np.median(untraced)), "overhead_s": float(np.median(outside)),
                     "unattributed_s": float(np.median(unattributed)), "inplace_method": "live"})
    return rows

"""Which layers each TensorFlow kernel computes: the units of the in-place view.

A kernel that the runtime fused (conv + batch-norm + activation, a convolution with its padding) computes several
Keras layers. This module maps graph nodes to layers (by their name scopes), finds each kernel's layers (from the
executed graph, or from op names alone), and merges them into units with a union-find over layer *parts* (a
separable convolution has two halves). Which layer names a unit is the shared rule of :mod:`profiling.fusion`.
Pure Python over graph protos and a :class:`~profiling.spec.NetworkSpec`: no TensorFlow import.
"""

from __future__ import annotations

import re

from ..fusion import FUSION_MAINS, main_layer

__all__ = ["FUSION_MAINS", "main_layer", "layer_of", "scope_suffix", "neighbourhood", "is_weight", "Units",
           "layer_part", "kernel_parts_from_graph", "kernel_parts_by_name", "separate_halves"]

_DT_RESOURCE = 20
_NOT_KERNELS = ("_Arg", "_Retval", "NoOp", "Placeholder")
# layers whose ops may vanish without their work moving anywhere: never absorbed into a neighbour's unit
_NO_WORK = ("input", "dropout", "reshape")
# ops that only read or pass on weights (charged to their layer without the graph)
_PARAM_OPS = ("ReadVariableOp", "Const", "Identity", "ResourceGather")


def layer_of(node_name: str, names: set[str], suffix: str = "") -> str | None:
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


def scope_suffix(node_names, model_name: str) -> str:
    for name in node_names:
        root = name.split("/")[0]
        m = re.fullmatch(re.escape(model_name) + r"(_\d+)", root)
        if m:
            return m.group(1)
    return ""


def neighbourhood(spec, hops: int) -> dict[str, set[str]]:
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


def is_weight(node) -> bool:
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


class Units:
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


def layer_part(layer: str, by_type: dict[str, str], op_type: str = "") -> tuple[str, str]:
    if by_type.get(layer) == "separable_conv2d":
        return (layer, "dw" if "Depthwise" in op_type else "pw")
    return (layer, "")


def kernel_parts_from_graph(nodes, spec, names, suffix) -> tuple[dict[str, set], dict[str, tuple[str, str]], set]:
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
    near = neighbourhood(spec, hops=2)

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
    layer = {n.name: layer_of(n.name, names, suffix) for n in nodes}
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
            if node.op in ("ReadVariableOp", "ResourceGather") or is_weight(node):
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
        mem = {layer_part(main, by_type, k.op)}
        for inp in k.input:
            if inp.startswith("^") or src(inp) in data:
                continue
            for owner in weight_owners(src(inp)):
                if owner != main and owner in near.get(main, ()):
                    mem.add(layer_part(owner, by_type))
        # silent neighbours upstream: their ops are gone, so this kernel does their work
        todo = [(s, 1) for s in inputs_of.get(main, ())]
        while todo:
            s, hops = todo.pop()
            if (s in active or by_type.get(s) in _NO_WORK or hops > 2 or len(outputs.get(s, ())) != 1
                    or s not in by_type):
                continue
            mem.add(layer_part(s, by_type))
            todo.extend((t, hops + 1) for t in inputs_of.get(s, ()))
        members[k.name] = mem
    param_part: dict[str, tuple[str, str]] = {}
    for n in nodes:
        if n.name in data or n.op in _NOT_KERNELS or layer[n.name] is None:
            continue
        own = layer[n.name]
        part = layer_part(own, by_type)
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
                            part = layer_part(own, by_type, by_name[c].op)
                            todo = []
                            break
                    else:
                        todo.append(c)
        param_part[n.name] = part
    return members, param_part, data


def kernel_parts_by_name(ops, spec, names, suffix) -> tuple[dict[str, set], dict[str, tuple[str, str]], set]:
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
            kinds[node] = (op_type, layer_of(node, names, suffix))
    active = {main for op_type, main in kinds.values() if main and op_type not in _PARAM_OPS}
    for node, (op_type, main) in kinds.items():
        if main is None:
            continue
        if op_type in _PARAM_OPS:
            param_part[node] = layer_part(main, by_type)
            continue
        data.add(node)
        mem = {layer_part(main, by_type, op_type)}
        if "Fused" in op_type and by_type.get(main) not in FUSION_MAINS:
            # the fused layers run no kernel of their own: the nearest such conv / dense upstream, 2 hops at most
            paths = [[s] for s in inputs_of.get(main, ()) if s not in active]
            for _ in range(2):
                hit = next((p for p in paths if by_type.get(p[-1]) in FUSION_MAINS), None)
                if hit:
                    mem.update(layer_part(s, by_type) for s in hit)
                    break
                paths = [p + [s] for p in paths for s in inputs_of.get(p[-1], ()) if s not in active]
        members[node] = mem
    return members, param_part, data


def separate_halves(uf: Units, spec, by_type: dict[str, str]) -> None:
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

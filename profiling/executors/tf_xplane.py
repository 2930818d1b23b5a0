"""The TensorFlow profiler's trace of a function's calls, and the op events inside each call (XPlane protobuf)."""

from __future__ import annotations

import os
from typing import Any

from .tf_model import materialise

__all__ = ["CALL_EVENT", "xplane_module", "trace_calls", "calls_from_xspace"]

CALL_EVENT = "perfmodel_inplace_call"
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf", "Case")


def xplane_module():
    """The XPlane protobuf module shipped in the TensorFlow wheel (its path moved between releases)."""
    import importlib

    for mod in ("tensorflow.tsl.profiler.protobuf.xplane_pb2", "tsl.profiler.protobuf.xplane_pb2",
                "tensorflow.core.profiler.protobuf.xplane_pb2"):
        try:
            return importlib.import_module(mod)
        except ImportError:
            continue
    raise ImportError("no xplane_pb2 module in this TensorFlow installation")


def trace_calls(tf, fn, x, runs: int):
    """Call ``fn(x)`` ``runs`` times under the TF profiler; return the host plane's XSpace (parsed)."""
    import glob
    import tempfile

    xplane_pb2 = xplane_module()
    with tempfile.TemporaryDirectory(prefix="perfmodel-trace-") as logdir:
        # (TF 2.21 applies its default host tracer level, 2, whatever the options say: cheap kernels that the
        # executor has learnt to run inline are not traced; see live_inplace_rows)
        opts = tf.profiler.experimental.ProfilerOptions(host_tracer_level=2, python_tracer_level=0,
                                                        device_tracer_level=0)
        tf.profiler.experimental.start(logdir, options=opts)
        try:
            for i in range(runs):
                with tf.profiler.experimental.Trace(CALL_EVENT, call=i):
                    materialise(fn(x))
        finally:
            tf.profiler.experimental.stop()
        paths = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
        if not paths:
            raise RuntimeError("the TF profiler wrote no trace (plugins/profile/*/*.xplane.pb)")
        space = xplane_pb2.XSpace()
        with open(paths[-1], "rb") as fh:
            space.ParseFromString(fh.read())
    return space


def calls_from_xspace(space) -> list[dict[str, Any]]:
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
                if md.name.split("#", 1)[0] == CALL_EVENT:
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

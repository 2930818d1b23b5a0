"""The fusion rule, as data shared by the measuring side and the models.

A runtime that fuses kernels (TensorFlow's remapper, oneDNN, TensorRT) folds a batch-norm and an activation into
the compute layer before them: conv + batch-norm + relu run as one kernel, one *unit*. The in-place tracers
(:mod:`profiling.executors.tf_fusion`) name each measured unit after its main layer, and the models
(:func:`perfmodel.features.fuse_layers`) group a spec's layers into the same units; both read the rule here, so
they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["FUSION_MAINS", "FUSED_INTO_MAIN", "main_layer"]

#: Layer types that carry a fused unit's compute, in priority order: a unit is named after its first layer of
#: the first of these types that it holds.
FUSION_MAINS: tuple[str, ...] = ("conv2d", "depthwise_conv2d", "separable_conv2d", "dense")

#: Layer types that a fusing runtime folds into the main layer before them.
FUSED_INTO_MAIN: tuple[str, ...] = ("batch_norm", "activation")


def main_layer(unit: Sequence[str], by_type: Mapping[str, str]) -> str:
    """The layer a unit is named after: its first layer of the highest-priority :data:`FUSION_MAINS` type, or
    its first layer when it holds none (``by_type``: layer name -> canonical layer type)."""
    for t in FUSION_MAINS:
        for name in unit:
            if by_type[name] == t:
                return name
    return unit[0]

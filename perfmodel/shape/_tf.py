"""Import Keras/TensorFlow quietly and with a bounded number of threads (imported only when needed)."""

from __future__ import annotations

import os

_DONE = False


def keras_and_tf(threads: int | None = None):
    """Return ``(keras, tf)`` after silencing TF's C++ logs and setting its thread pools once.

    ``threads`` defaults to ``$PERFMODEL_TF_THREADS`` or 2 (this project is developed on 2 shared cores).
    """
    global _DONE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    if not _DONE:
        n = int(threads or os.environ.get("PERFMODEL_TF_THREADS", "2"))
        try:  # fails (RuntimeError) once TF has started executing; then the first setting stays
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
        tf.get_logger().setLevel("ERROR")
        _DONE = True
    return keras, tf

"""NumPy re-implementation of PowerML's small networks, run under cachegrind as the energy-proxy workload.

TensorFlow under valgrind runs for many minutes per call (start-up alone executes billions of
instructions), so PowerML's memory-access proxy is measured on the same arithmetic written in NumPy: the
forward pass of the trained weights over the test set (inference) and one epoch of forward + backward +
Adam updates over the training set at the trial's batch size (training). The matrix shapes, batch count
and parameter traffic are those of the Keras network; TensorFlow's own kernels and overheads are not
included, which the proxy's documentation states.

Runnable as a script (``python numpy_workload.py META_JSON ARRAYS.npz``) so only NumPy is imported inside
valgrind; ``phase`` ``none`` does the imports and loading only (the baseline to subtract).
This module imports nothing but NumPy on purpose.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def _im2col(x, k):
    n, h, w, c = x.shape
    before = (k - 1) // 2  # TF 'same' padding puts the extra row/column after
    xp = np.pad(x, ((0, 0), (before, k - 1 - before), (before, k - 1 - before), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # n, h, w, c, kh, kw
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, k * k * c)


def _col2im(dcols, shape, k):
    n, h, w, c = shape
    before = (k - 1) // 2
    d = dcols.reshape(n, h, w, k, k, c)
    dxp = np.zeros((n, h + k - 1, w + k - 1, c), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + h, j:j + w, :] += d[:, :, :, i, j, :]
    return dxp[:, before:before + h, before:before + w, :]


def _softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(kind, params, x, kernel=1, keep=False):
    """Class probabilities of the network (``params`` = [W0, b0, W1, b1, ...] as Keras stores them)."""
    caches = []
    n_layers = len(params) // 2
    h = x
    for i in range(n_layers):
        W, b = params[2 * i], params[2 * i + 1]
        if W.ndim == 4:  # conv kernel (kh, kw, cin, cout), relu
            cols = _im2col(h, W.shape[0])
            a = (cols @ W.reshape(-1, W.shape[-1]) + b).reshape(*h.shape[:3], W.shape[-1])
            caches.append(("conv", h.shape, cols, a))
            h = np.maximum(a, 0)
        else:
            if h.ndim > 2:
                h = h.reshape(len(h), -1)
            a = h @ W + b
            caches.append(("dense", h.shape, h, a))
            h = _softmax(a) if i == n_layers - 1 else np.maximum(a, 0)
    return (h, caches) if keep else h


def train_epoch(kind, params, x, y, batch_size, lr=1e-3):
    """One epoch of minibatch Adam on softmax cross-entropy (updates ``params`` in place)."""
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        p, caches = forward(kind, params, xb, keep=True)
        onehot = np.zeros_like(p)
        onehot[np.arange(len(yb)), yb] = 1.0
        da = (p - onehot) / len(yb)
        grads = [None] * len(params)
        for i in range(len(caches) - 1, -1, -1):
            typ, in_shape, inp, a = caches[i]
            if i != len(caches) - 1:
                da = da * (a > 0)
            W = params[2 * i]
            if typ == "conv":
                d2 = da.reshape(-1, W.shape[-1])
                grads[2 * i] = (inp.T @ d2).reshape(W.shape)
                grads[2 * i + 1] = d2.sum(axis=0)
                if i:
                    da = _col2im(d2 @ W.reshape(-1, W.shape[-1]).T, in_shape, W.shape[0])
            else:
                grads[2 * i] = inp.T @ da
                grads[2 * i + 1] = da.sum(axis=0)
                if i:
                    da = (da @ W.T).reshape(caches[i - 1][3].shape)
        step += 1
        for j, g in enumerate(grads):
            m[j] = 0.9 * m[j] + 0.1 * g
            v[j] = 0.999 * v[j] + 0.001 * g * g
            params[j] -= lr * (m[j] / (1 - 0.9**step)) / (np.sqrt(v[j] / (1 - 0.999**step)) + 1e-7)
    return params


def unflatten(flat, shapes):
    """Split the flat parameter vector into arrays of ``shapes`` (views, no copies)."""
    out, i = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[i:i + n].reshape(shape))
        i += n
    return out


def run(meta: dict, arrays) -> None:
    # One flat parameter array: loading costs the same for every network, so one start-up baseline
    # (phase 'none') can be subtracted from all runs.
    params = [p.copy() for p in unflatten(np.asarray(arrays["params"], dtype=np.float32), meta["shapes"])]
    phase = meta["phase"]
    if phase == "infer":
        x, bs = arrays["x_test"], int(meta.get("infer_batch", 32))
        for _ in range(int(meta.get("repeats", 1))):
            for start in range(0, len(x), bs):
                forward(meta["kind"], params, x[start:start + bs])
    elif phase == "train":
        train_epoch(meta["kind"], params, arrays["x_train"], arrays["y_train"], int(meta["batch_size"]))
    elif phase != "none":
        raise SystemExit(f"unknown phase {phase!r}")


if __name__ == "__main__":
    _meta = json.loads(sys.argv[1])
    with np.load(sys.argv[2]) as _arrays:
        run(_meta, {k: _arrays[k] for k in _arrays.files})

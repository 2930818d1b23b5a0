"""Simulated measurement tables in the exported format (for tests, examples and sanity checks).

Test data, not a model: it lived in ``perfmodel.models.synthetic`` (still importable there, with a
DeprecationWarning, for one release).

Every row is labelled ``source = "simulated:synthetic-layers"``. The ground truth is a simple roofline with
a per-unit call overhead and thread scaling, plus multiplicative noise; whole-network rows add a per-unit
scheduling cost that a plain sum of units misses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["random_network", "synthetic_table", "SOURCE"]

SOURCE = "simulated:synthetic-layers"


def random_network(rng: np.random.Generator, name: str, n_blocks: int = 6, hw: int = 64) -> pd.DataFrame:
    """Per-unit feature rows of a random CNN (conv / depthwise / pool / add units and a dense head)."""
    rows, c = [], 3
    for b in range(n_blocks):
        kind = rng.choice(["conv", "conv", "depthwise", "pool", "add"]) if b else "conv"
        k = int(rng.choice([1, 3, 5])) if kind != "pool" else 2
        s = int(rng.choice([1, 2])) if kind != "add" and hw > 4 else 1
        oc = int(rng.choice([16, 32, 64, 128])) if kind == "conv" else c
        ohw = max(1, hw // s)
        if kind == "conv":
            lt, flops, w = "conv2d", 2 * ohw * ohw * c * oc * k * k, c * oc * k * k
        elif kind == "depthwise":
            lt, flops, w = "depthwise_conv2d", 2 * ohw * ohw * c * k * k, c * k * k
        elif kind == "pool":
            lt, flops, w = "max_pool", ohw * ohw * c * k * k, 0
        else:
            lt, flops, w, k, s, ohw = "add", hw * hw * c, 0, 1, 1, hw
        unit = f"{name}_b{b}" + ("+bn+relu" if lt in ("conv2d", "depthwise_conv2d") else "")
        rows.append({"layer": f"{name}_b{b}", "unit": unit, "layer_type": lt, "in_h": hw, "in_w": hw, "in_c": c,
                     "out_h": ohw, "out_w": ohw, "out_c": oc, "kernel_h": k, "kernel_w": k, "stride_h": s,
                     "stride_w": s, "padding": "same", "groups": c if lt == "depthwise_conv2d" else 1,
                     "flops": float(flops), "params": float(w), "weight_bytes": 4.0 * w,
                     "input_bytes": 4.0 * hw * hw * c, "output_bytes": 4.0 * ohw * ohw * oc})
        hw, c = ohw, oc
    oc = int(rng.choice([10, 100, 1000]))
    rows.append({"layer": f"{name}_fc", "unit": f"{name}_fc", "layer_type": "dense", "in_h": 1, "in_w": 1,
                 "in_c": c * hw * hw, "out_h": 1, "out_w": 1, "out_c": oc, "kernel_h": 1, "kernel_w": 1,
                 "stride_h": 1, "stride_w": 1, "padding": "", "groups": 1, "flops": 2.0 * c * hw * hw * oc,
                 "params": float(c * hw * hw * oc), "weight_bytes": 4.0 * c * hw * hw * oc,
                 "input_bytes": 4.0 * c * hw * hw, "output_bytes": 4.0 * oc})
    df = pd.DataFrame(rows)
    df.insert(0, "network", name)
    return df


def _unit_time(df: pd.DataFrame, threads: float, batch: float) -> np.ndarray:
    eff = {"conv2d": 1.0, "depthwise_conv2d": 0.15, "dense": 0.6, "max_pool": 0.3, "add": 0.3}
    e = df["layer_type"].map(eff).fillna(0.3).to_numpy()
    compute = batch * df["flops"].to_numpy() / (20e9 * e * threads**0.8)
    memory = (df["weight_bytes"] + batch * (df["input_bytes"] + df["output_bytes"])).to_numpy() / 8e9
    return 30e-6 + compute + memory


def synthetic_table(n_networks: int = 6, threads=(1, 2), batches=(1, 2), noise: float = 0.03,
                    seed: int = 0, with_power: bool = True) -> pd.DataFrame:
    """A measurement table (layer rows of view ``inplace`` and whole-network rows) of random networks."""
    rng = np.random.default_rng(seed)
    out = []
    for n in range(n_networks):
        net = random_network(rng, f"net{n}", n_blocks=int(rng.integers(4, 9)), hw=int(rng.choice([32, 64, 96])))
        for th in threads:
            for b in batches:
                t = _unit_time(net, th, b) * rng.lognormal(0, noise, len(net))
                layer = net.copy()
                layer["level"], layer["view"] = "layer", "inplace"
                layer["threads"], layer["batch"] = th, b
                layer["runtime_s"] = t
                layer["power_w"] = (5.0 + 4.0 * th * (1 - 30e-6 / t)) * rng.lognormal(0, noise, len(net))
                whole = {"network": net["network"].iloc[0], "level": "network", "view": "whole", "layer": "",
                         "unit": "", "layer_type": "", "threads": th, "batch": b,
                         "runtime_s": (t.sum() + 15e-6 * len(net) + 2e-4) * rng.lognormal(0, noise),
                         "flops": net["flops"].sum(), "params": net["params"].sum(),
                         "weight_bytes": net["weight_bytes"].sum(), "n_layers": len(net)}
                whole["power_w"] = float(np.sum(t * layer["power_w"]) / t.sum())
                out += [layer, pd.DataFrame([whole])]
    df = pd.concat(out, ignore_index=True)
    df["config"] = "threads=" + df["threads"].astype(str) + ",batch=" + df["batch"].astype(str)
    df["source"], df["campaign"], df["status"], df["repeats"] = SOURCE, "synthetic", "ok", 10
    if with_power:
        df["energy_j"] = df["power_w"] * df["runtime_s"]
        df["power_sensor"] = SOURCE
    else:
        df = df.drop(columns=["power_w"])
        df["power_sensor"] = "absent: simulated table without power"
    return df

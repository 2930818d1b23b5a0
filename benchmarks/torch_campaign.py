"""A measurement campaign with the PyTorch executor, on an NVIDIA GPU (NVML power and clocks) or the CPU.

For a machine where TensorFlow may be absent: the network comes as a NetworkSpec JSON file (write one
where Keras is installed with ``NetworkSpec.from_keras(model).to_json(path)``) or, where Keras is
installed, as a network name. Configurations are sampled from the platform's knobs (NVML clocks when
settable, ``cudnn_benchmark``, ``batch``); each is applied through ``Platform.applied`` (clocks put back
afterwards) and timed as a whole network and, with ``--layers``, layer by layer (view ``isolated``).
Power comes from NVML (energy counter where the GPU has one); on the CPU the power columns say why they
are empty.

Rows follow docs/measurement-table.md (subset: no ``inplace`` view, no ``overhead_s``).

Run (GPU):  python benchmarks/torch_campaign.py --spec resnet50.json --configs 20 --layers --out torch-gpu.csv
Run (CPU):  python benchmarks/torch_campaign.py --network tiny_cnn --device cpu --platform none --configs 2 --out /tmp/t.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

import pandas as pd
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from profiling.errors import PlatformError, SensorUnavailable  # noqa: E402
from profiling.executors.torch_executor import TorchExecutor  # noqa: E402
from profiling.sensors.base import PowerSampler  # noqa: E402
from profiling.space import format_config  # noqa: E402
from profiling.spec import NetworkSpec  # noqa: E402
from profiling.timing import TimingPolicy  # noqa: E402


def _load_spec(args: argparse.Namespace) -> NetworkSpec:
    if args.spec:
        return NetworkSpec.from_json(args.spec)
    from profiling.networks import load_network

    return load_network(args.network, args.input_size)[1]


def _measure(fn, sensor):
    """Run ``fn`` under a power sampler when there is a sensor; return (result, power_w, why)."""
    if sensor is None:
        return fn(), None, "absent: no power sensor on this platform"
    try:
        with PowerSampler(sensor, interval_s=0.01) as sampler:
            result = fn()
    except SensorUnavailable as exc:
        return fn(), None, f"absent: {exc}"
    return result, sampler.trace.mean_power_w(), sensor.name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", help="NetworkSpec JSON file")
    src.add_argument("--network", help="keras.applications / built-in name (needs Keras)")
    ap.add_argument("--input-size", type=int, default=None)
    ap.add_argument("--platform", choices=("nvml", "none"), default="nvml")
    ap.add_argument("--index", type=int, default=0, help="GPU index for NVML")
    ap.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--configs", type=int, default=10)
    ap.add_argument("--design", default="lhs", choices=("random", "lhs", "sobol", "factorial"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", action="store_true", help="also time every layer alone")
    ap.add_argument("--quick", action="store_true", help="TimingPolicy.quick() (fewer repeats)")
    ap.add_argument("--out", required=True, help="CSV file to write")
    args = ap.parse_args(argv)

    spec = _load_spec(args)
    executor = TorchExecutor(spec, device=args.device, seed=args.seed)
    platform = None
    if args.platform == "nvml":
        from profiling.platforms.nvml import NvmlPlatform

        platform = NvmlPlatform(args.index)
        space = platform.space()
        sensor = platform.sensors()[0]
        source, describe = platform.source, platform.describe()
    else:
        space = TorchExecutor.space()
        sensor = None
        source, describe = f"measured:torch-{executor.device.type}", {}
    configs = space.sample(args.configs, design=args.design, seed=args.seed)
    policy = TimingPolicy.quick() if args.quick else TimingPolicy()
    features = spec.features().set_index("layer")
    rows = []
    for cfg in tqdm(configs, desc=f"{spec.name} on {executor.device}"):
        ctx = platform.applied(cfg) if platform is not None else _null(space.validate(cfg))
        try:
            with ctx as applied:
                base = {"source": source, "campaign": "torch", "network": spec.name, **applied,
                        "config": format_config(applied), "status": "ok", "reason": "",
                        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
                net, power, why = _measure(lambda: executor.time_network(applied, policy), sensor)
                rows.append({**base, "level": "network", "view": "whole", "layer": "", "unit": "", "layer_type": "",
                             **net.timing.as_dict(), "power_w": power, "power_sensor": why,
                             "energy_j": power * net.runtime_s if power is not None else None,
                             "flops": spec.flops(), "params": spec.params(), "n_layers": len(spec.layers)})
                if args.layers:
                    for lt in executor.time_layers(applied, policy):
                        # a layer is too short for a per-layer sampler window; its power is the network's
                        rows.append({**base, "level": "layer", "view": "isolated", "layer": lt.layer,
                                     "unit": lt.layer, "layer_type": lt.layer_type, **lt.timing.as_dict(),
                                     "power_w": power, "power_sensor": why,
                                     "energy_j": power * lt.runtime_s if power is not None else None,
                                     **features.loc[lt.layer].drop("layer_type").to_dict()})
        except PlatformError as exc:
            rows.append({"source": source, "campaign": "torch", "network": spec.name, **cfg,
                         "config": format_config(cfg), "status": "failed", "reason": str(exc)})
    df = pd.DataFrame(rows)
    df.to_csv(args.out, index=False)
    print(f"wrote {len(df)} rows to {args.out} ({source}; executor {executor.describe()}; platform {describe})")
    return 0


class _null:
    def __init__(self, cfg):
        self.cfg = cfg

    def __enter__(self):
        return self.cfg

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())


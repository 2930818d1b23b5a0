"""The PyTorch executor of campaigns (:class:`TorchRunner`): jobs in this process, over
:class:`~profiling.executors.torch_executor.TorchExecutor`."""

from __future__ import annotations

import os
import platform as _pyplatform
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ConfigError, SpecError
from ..measurement import MeasurementRow
from ..space import Boolean, Categorical, Integer, Ordinal
from ..timing import TimingResult
from .base import Executor, ExecutorJob, JobResult
from .torch_build import DEFAULT_BATCHES, _torch
from .torch_executor import TorchExecutor, check_device

__all__ = ["TorchRunner", "CUDA_KNOBS", "DTYPES"]

#: Knobs that only mean something on a CUDA device (``on`` is refused on the CPU).
CUDA_KNOBS = ("cuda_graph", "cudnn_benchmark", "tf32")
DTYPES = ("float32", "float16", "bfloat16")


def malloc_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allocator settings of this process's environment (glibc ``MALLOC_*`` variables, ``LD_PRELOAD``).

    On the CPU they change what PyTorch's calls cost: with glibc's defaults a large freed activation goes
    back to the kernel and the next call faults it in again, page by page (MobileNetV2 at batch 1: 1.45x
    slower than with freed memory kept; docs/profiler.md). Recorded with a campaign, not changed by it.
    """
    env = os.environ if environ is None else environ
    return {k: env[k] for k in sorted(env) if k.startswith("MALLOC_") or k == "LD_PRELOAD"}


class TorchRunner(Executor):
    """The PyTorch executor of campaigns: jobs run in this process on the CPU or one CUDA GPU.

    Knobs: ``batch``; ``threads`` (``torch.set_num_threads``, host threads); ``dtype`` (float32, float16,
    bfloat16: weights and inputs); ``cudnn_benchmark``; ``tf32`` (TF32 tensor cores for float32 matrix
    products and convolutions); ``cuda_graph`` (whole network and each isolated layer captured once as a
    CUDA graph and replayed: no Python launch cost, as deployed inference runs). The three CUDA knobs are
    refused ``on`` when the device is the CPU. Settings are restored after every job.

    Views: ``whole`` (one call of the batch), ``isolated`` (each layer alone on the inputs it received in
    the network) and ``inplace`` (method ``events``, :meth:`TorchExecutor.time_inplace`: per-layer gaps
    between CUDA events inside one eager pass; under ``cuda_graph=on`` the in-place view stays eager, as a
    graph has no per-layer events). Power (with the platform's sensor): each ``whole`` call and each
    isolated layer run back to back for the campaign's window (:func:`profiling.sensors.window.power_window`);
    ``inplace`` rows carry no power (a layer's power is that of its isolated run).

    Parameters
    ----------
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``. Checked at construction (PlatformError when torch sees no such GPU).
    seed : int
        Seed of the random weights and inputs.
    """

    name = "torch"
    inplace_methods = ("events",)

    def __init__(self, device: str = "cpu", seed: int = 0, batches: Sequence[int] = DEFAULT_BATCHES):
        check_device(device)
        self.device = "cuda:0" if device == "cuda" else str(device)
        self.seed = seed
        self.batches = tuple(batches)
        self._specs: dict[tuple[str, int | None], Any] = {}

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def software_knobs(self, platform: Any) -> tuple[Any, ...]:
        import os

        n = max(len(os.sched_getaffinity(0)), 1)
        return (Ordinal("batch", values=self.batches, default=min(self.batches)),
                Integer("threads", 1, n, default=n),
                Categorical("dtype", DTYPES, default="float32"),
                Boolean("cudnn_benchmark", default=False),
                Boolean("tf32", default=False),
                Boolean("cuda_graph", default=False))

    def knob_notes(self) -> dict[str, str]:
        return {"batch": "batch size of every call", "threads": "torch.set_num_threads (host threads)",
                "dtype": "weights and inputs in this type", "cudnn_benchmark": "torch.backends.cudnn.benchmark",
                "tf32": "torch.backends.cuda.matmul.allow_tf32 and cudnn.allow_tf32",
                "cuda_graph": "whole network and isolated layers captured as CUDA graphs and replayed"}

    def fixed_knobs(self) -> tuple[str, ...]:
        return () if self.is_cuda else CUDA_KNOBS

    def check_config(self, config: Mapping[str, Any]) -> None:
        if not self.is_cuda:
            for k in CUDA_KNOBS:
                if config.get(k):
                    raise ConfigError(f"knob {k}=on needs a CUDA device; this torch executor runs on {self.device}")

    def check_network(self, name: str) -> str:
        """A network name, a ``.keras`` file or a NetworkSpec ``.json`` file (no Keras needed for the last)."""
        import os

        from ..networks import check_network

        if str(name).endswith(".json"):
            if not os.path.isfile(name):
                raise SpecError(f"network spec file {name!r} does not exist")
            return os.path.abspath(name)
        return check_network(name)

    def describe(self) -> dict[str, Any]:
        torch = _torch()
        d: dict[str, Any] = {"executor": self.name, "torch": torch.__version__, "device": self.device,
                             "malloc_env": malloc_env()}
        if self.is_cuda:
            d.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                     gpu=torch.cuda.get_device_name(torch.device(self.device)))
        return d

    def _spec(self, network: str, input_size: int | None) -> Any:
        key = (network, input_size)
        if key not in self._specs:
            from ..spec import NetworkSpec

            if network.endswith(".json"):
                spec = NetworkSpec.from_json(network)
            else:
                from ..networks import load_network

                spec = load_network(network, input_size)[1]
            self._specs[key] = spec
        return self._specs[key]

    def run(self, job: ExecutorJob, *, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> JobResult:
        """Measure ``job`` in this process (``timeout_s``/``memory_limit_gb`` bound worker processes only;
        here each measurement is bounded by the timing policy's ``max_time_s``)."""
        t0 = time.monotonic()
        torch = _torch()
        try:
            spec = self._spec(job.network, job.input_size)
            rows, note = self._measure(spec, job)
        except KeyboardInterrupt:
            raise
        except (MemoryError, getattr(torch.cuda, "OutOfMemoryError", MemoryError)) as exc:
            return JobResult("failed", reason=f"oom: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                             wall_s=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, the campaign goes on
            text = str(exc).splitlines()[0][:300] if str(exc) else ""
            return JobResult("failed", reason=f"crash: {type(exc).__name__}: {text}", wall_s=time.monotonic() - t0)
        finally:
            if self.is_cuda:
                torch.cuda.empty_cache()
        return JobResult("ok", tuple(rows), note=note, spec=spec.to_dict(), versions=self._versions(),
                         wall_s=time.monotonic() - t0)

    def _versions(self) -> dict[str, Any]:
        torch = _torch()
        v = {"torch": torch.__version__, "python": _pyplatform.python_version(), "device": self.device}
        if self.is_cuda:
            v["cuda"] = torch.version.cuda
        return v

    def _measure(self, spec: Any, job: ExecutorJob) -> tuple[list[MeasurementRow], str | None]:
        from ..sensors.load import LoadMonitor
        from ..sensors.window import power_window

        cfg = job.software_config()
        self.check_config(cfg)
        ex = TorchExecutor(spec, device=self.device, seed=self.seed, dtype=str(cfg.get("dtype", "float32")))
        graph = bool(cfg.get("cuda_graph", False))
        plan = job.power
        mode = {"cuda_graph": graph, "device": self.device}
        rows: list[MeasurementRow] = []

        def power(fn: Callable[[], Any]) -> dict[str, Any]:
            if plan is None:
                return {}
            pw = power_window(fn, plan.sensor, plan.window_s, step_s=plan.step_s, idle_power_w=plan.idle_power_w,
                              sync=ex.sync)
            return {k: v for k, v in pw.items() if v is not None}

        def row(view: str, level: str, fn: Callable[[], Any], timing_of: Callable[[Callable[[], Any]], Any],
                **names: Any) -> MeasurementRow:
            with LoadMonitor() as mon:
                res = timing_of(fn)
            pw = power(fn)
            return MeasurementRow(view=view, level=level, **names, **res.as_dict(), power_w=pw.pop("power_w", None),
                                  energy_j=pw.pop("energy_j", None), other_load=mon.other_load,
                                  extra={**pw, **mode})

        note = None
        with ex._settings(cfg) as batch:
            def timed(fn: Callable[[], Any]) -> TimingResult:
                return ex._time(fn, job.policy)[0]

            if "whole" in job.views:
                x = ex.input_tensor(batch)
                fn = ex.graph(lambda: ex.module(x)) if graph else (lambda: ex.module(x))
                rows.append(row("whole", "network", fn, timed))
            if "isolated" in job.views:
                record: dict[str, tuple[Any, ...]] = {}
                ex.module.run(ex.input_tensor(batch), record)
                for layer in spec.layers:
                    if layer.type == "input":
                        continue
                    mod, args = ex.module.layer_module(layer.name), record[layer.name]
                    names = {"layer": layer.name, "unit": layer.name, "layer_type": layer.type}
                    try:
                        fn = (lambda mod=mod, args=args: mod(*args))
                        if graph:
                            fn = ex.graph(fn)
                        rows.append(row("isolated", "layer", fn, timed, **names))
                    except Exception as exc:  # noqa: BLE001 - one odd layer must not lose the others
                        rows.append(MeasurementRow(view="isolated", level="layer", **names, status="failed",
                                                   reason=f"crash: {type(exc).__name__}: "
                                                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"))
                del record
        if "inplace" in job.views:
            by_type = {layer.name: layer.type for layer in spec.layers}
            with LoadMonitor() as mon:
                times = ex.time_inplace(cfg, runs=max(job.trace_runs, 3))
            for name, res in times.items():
                rows.append(MeasurementRow(view="inplace", level="layer", layer=name, unit=name,
                                           layer_type=by_type[name], **res.as_dict(), other_load=mon.other_load,
                                           extra={"inplace_method": "events", **mode}))
            if graph:
                note = "in-place view timed in an eager pass (a CUDA graph has no per-layer events)"
        return rows, note

"""The configurations `perfmodel profile --design` measures (no measurement runs here)."""

import argparse
import re

import pytest

from perfmodel.commands.profile import _configs
from profiling.errors import ConfigError
from profiling.space import Categorical, ConfigSpace, Ordinal


def space():
    return ConfigSpace((Ordinal("threads", (1, 2)), Ordinal("batch", (1, 2, 4, 8, 16, 32, 64)),
                        Categorical("xla", ("off", "on"))))


def args(**kw):
    base = dict(config=None, design=None, knobs=None, samples=None, seed=0, where=[])
    return argparse.Namespace(**{**base, **kw})


def test_factorial_measures_the_whole_grid_by_default():
    # 2 threads x 7 batches: 14 configurations, every pair once, with the base's xla on each.
    configs = _configs(args(design="factorial", knobs="threads,batch", config=["xla=on"]), None, space())
    pairs = {(c["threads"], c["batch"]) for c in configs}
    assert len(configs) == 14 and len(pairs) == 14
    assert {c["xla"] for c in configs} == {"on"}
    assert {t for t, _ in pairs} == {1, 2} and {b for _, b in pairs} == {1, 2, 4, 8, 16, 32, 64}


def test_factorial_with_samples_at_least_the_grid_is_the_grid():
    configs = _configs(args(design="factorial", knobs="threads,xla", samples=100), None, space())
    assert sorted((c["threads"], c["xla"]) for c in configs) == [(1, "off"), (1, "on"), (2, "off"), (2, "on")]


def test_factorial_cut_short_is_refused():
    # The first 8 in grid order would be threads=1 at every batch and one threads=2 point.
    with pytest.raises(ConfigError, match="has 14 configurations"):
        _configs(args(design="factorial", knobs="threads,batch", samples=8), None, space())


@pytest.mark.parametrize("design", ["random", "lhs", "sobol"])
def test_sampling_designs_default_to_eight(design):
    assert len(_configs(args(design=design, knobs="threads,batch,xla"), None, space())) == 8
    assert len(_configs(args(design=design, knobs="threads,batch,xla", samples=5), None, space())) == 5


@pytest.mark.parametrize(("kw", "named"), [
    (dict(samples=20), "--samples sets"),
    (dict(knobs="threads"), "--knobs sets"),
    (dict(samples=0, knobs="batch"), "--samples and --knobs set"),
])
def test_design_options_without_a_design_are_refused(kw, named):
    # they measured the one --config configuration (the default), not the 20 configurations asked for
    with pytest.raises(ConfigError, match=f"^{named} the design of a campaign; give --design"):
        _configs(args(**kw), None, space())


def test_without_design_options_the_config_configurations_are_measured():
    assert _configs(args(config=["threads=2,batch=4", "threads=1,batch=4"]), None, space()) == [
        {"threads": 2, "batch": 4}, {"threads": 1, "batch": 4}]


@pytest.mark.parametrize("design", ["factorial", "lhs", "random"])
def test_where_keeps_the_design_within_the_conditions(design):
    configs = _configs(args(design=design, knobs="threads,batch", where=["threads * batch <= 8"]), None, space())
    assert configs and all(c["threads"] * c["batch"] <= 8 for c in configs)
    if design == "factorial":  # every pair that meets it: threads 1 with batch 1..8, threads 2 with 1..4
        assert len(configs) == 7


def test_where_takes_the_knobs_not_varied_at_their_base_or_default_values():
    # threads varied; batch at its --config value 4, or at its default 1: "batch * threads <= 2" keeps threads
    # 1 only, or both
    both = args(design="factorial", knobs="threads", where=["batch * threads <= 2"])
    assert [c["threads"] for c in _configs(both, None, space())] == [1, 2]
    assert _configs(args(design="factorial", knobs="threads", where=["batch * threads <= 2"], config=["batch=2"]),
                    None, space()) == [{"batch": 2, "threads": 1}]
    with pytest.raises(ConfigError, match=re.escape("--where: no configuration of threads meets batch <= 2 (with "
                                                    "batch=4)")):
        _configs(args(design="lhs", knobs="threads", where=["batch <= 2"], config=["batch=4"]), None, space())


@pytest.mark.parametrize(("kw", "message"), [
    (dict(design="lhs", knobs="threads", where=["warp <= 4"]), "names unknown knob(s): warp"),
    (dict(design="lhs", knobs="threads,batch", where=["batch > 64"]), "--where: no configuration of threads, batch meets batch > 64"),
    (dict(where=["threads <= 1"]), "--where sets the design of a campaign"),
])
def test_a_where_that_cannot_apply_is_refused(kw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _configs(args(**kw), None, space())


def test_a_design_over_all_knobs_leaves_out_those_the_executor_cannot_vary_here():
    # torch on a CPU: a design over every knob drew cuda_graph=on, and the campaign refused it ("needs a CUDA
    # device"); the CUDA knobs are left at their defaults unless named in --knobs
    from profiling.campaign import build_executor
    from profiling.executors.torch_runner import CUDA_KNOBS
    from profiling.platforms.cpu import CpuPlatform

    cpu = CpuPlatform()
    torch_cpu = build_executor("torch", cpu)
    assert torch_cpu.fixed_knobs() == CUDA_KNOBS and build_executor("tensorflow", cpu).fixed_knobs() == ()
    configs = _configs(args(design="lhs", samples=6), cpu, torch_cpu.space(cpu), fixed=torch_cpu.fixed_knobs())
    assert len(configs) == 6 and not any(c.get(k) for c in configs for k in CUDA_KNOBS)
    assert len({(c["batch"], c["dtype"]) for c in configs}) > 1  # the others vary

"""The benchmark scripts (``benchmarks/*.py``, not a package) loaded as modules for their tests."""

import importlib.util
import os
import sys

DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
if DIR not in sys.path:
    sys.path.insert(0, DIR)   # the scripts import bench_optimisation and each other from their own folder


def load(name: str):
    """``benchmarks/<name>.py`` as a module (a new module object at each call)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

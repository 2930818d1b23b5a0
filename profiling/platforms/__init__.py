"""Platforms: one module per machine kind behind the small interface of :mod:`profiling.platforms.base`."""

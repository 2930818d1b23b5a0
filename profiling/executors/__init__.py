"""Executors: run a network under a configuration and return measurements."""

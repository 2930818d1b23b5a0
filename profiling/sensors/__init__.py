"""Sensors: power and energy readers, a background sampler, and load monitoring."""

"""Subcommands of the perfmodel CLI, one module each."""

"""Filesystem primitives: probing, placing files, atomic writes, locks, bounded calls.

This layer knows nothing about virtual environments."""

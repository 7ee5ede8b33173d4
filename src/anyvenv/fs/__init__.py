"""Filesystem primitives: probing, placing files, atomic writes, locks, bounded calls.

This layer knows nothing about virtual environments."""

# PATH + this: the lock file of every change made at PATH (an env, by those who change it).
# Here, not in fs.lock, so that the import-light no-op check can look for it.
ENV_LOCK_SUFFIX = ".anyvenv.lock"

"""Filesystem primitives: probing, placing files, atomic writes, locks, bounded calls.

This layer knows nothing about virtual environments."""

# PATH + this: the lock file of every change made at PATH (an env, by those who change it).
# Here, not in fs.lock, so that the import-light no-op check can look for it.
ENV_LOCK_SUFFIX = ".anyvenv.lock"


def env_lock_path(path: str) -> str:
    """The lock file of the env declared at ``path``: one name for all who take it (venv,
    sync, repair, prune) and for the no-op check that looks for it."""
    import os

    return os.path.abspath(path) + ENV_LOCK_SUFFIX

"""anyvenv: Python environments that work on filesystems where links or modes are broken.

The public API: :func:`create` (an environment, described by an :class:`EnvInfo`; its steps
overridden in a subclass of :class:`EnvBuilder`),
:func:`probe` (what a filesystem does, a :class:`ProbeResult`), the :class:`Strategy` an
environment's interpreter was placed with, and the errors they raise, all subclasses of
:class:`AnyvenvError`. They are imported lazily, so that ``import anyvenv`` (and the CLI)
stays cheap.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)

__version__ = "0.1.0"

# name -> the module that defines it
_PUBLIC = {
    "create": "anyvenv.envbuild.create",
    "EnvInfo": "anyvenv.envbuild.builder",
    "EnvBuilder": "anyvenv.envbuild.builder",
    "probe": "anyvenv.fs.probe",
    "ProbeResult": "anyvenv.fs.probe",
    "Strategy": "anyvenv.fs.place",
    "AnyvenvError": "anyvenv.errors",
    "UsageError": "anyvenv.errors",
    "DirectoryNotWritable": "anyvenv.errors",
    "InterpreterNotFound": "anyvenv.errors",
    "NothingExecutableHere": "anyvenv.errors",
    "WritesLostHere": "anyvenv.errors",
    "EnvironmentBroken": "anyvenv.errors",
    "MountNotAnswering": "anyvenv.errors",
    "LockTimeout": "anyvenv.fs.lock",
}

__all__ = [
    "AnyvenvError",
    "DirectoryNotWritable",
    "EnvBuilder",
    "EnvInfo",
    "EnvironmentBroken",
    "InterpreterNotFound",
    "LockTimeout",
    "MountNotAnswering",
    "NothingExecutableHere",
    "ProbeResult",
    "Strategy",
    "UsageError",
    "WritesLostHere",
    "__version__",
    "create",
    "probe",
]

if TYPE_CHECKING:
    from anyvenv.envbuild.builder import EnvBuilder, EnvInfo
    from anyvenv.envbuild.create import create
    from anyvenv.errors import (
        AnyvenvError,
        DirectoryNotWritable,
        EnvironmentBroken,
        InterpreterNotFound,
        MountNotAnswering,
        NothingExecutableHere,
        UsageError,
        WritesLostHere,
    )
    from anyvenv.fs.lock import LockTimeout
    from anyvenv.fs.place import Strategy
    from anyvenv.fs.probe import ProbeResult, probe
else:  # hidden from type checkers, which then flag a name that is not public

    def __getattr__(name: str) -> object:
        module = _PUBLIC.get(name)
        if module is None:
            raise AttributeError(f"module 'anyvenv' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module), name)
        globals()[name] = value  # looked up once
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_PUBLIC})

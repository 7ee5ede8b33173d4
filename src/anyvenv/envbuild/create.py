"""The Python API: ``anyvenv.create(path, python=None, ...)``."""

from __future__ import annotations

import os

from anyvenv.envbuild.builder import (
    EnvBuilder,
    EnvInfo,
    EnvOptions,
    build_environment,
    make_parents,
)
from anyvenv.errors import InterpreterNotFound, OptionWords, UsageError
from anyvenv.fs.place import Strategy, forget_umask
from anyvenv.interpreter.discovery import checked_preference
from anyvenv.pythons.ondemand import Downloads, find_or_download, may_be_downloaded

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# what a hint says to a caller of create(): its keywords (``clear=True``), never the command
# line's options (``--clear``); ``anyvenv venv`` passes its own to make_environment()
CREATE_WORDS = OptionWords.function_keywords(
    "python", "clear", "strategy", "seed", "python_downloads"
)


def create(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    python: str | os.PathLike[str] | None = None,
    *,
    prompt: str | None = None,
    system_site_packages: bool = False,
    seed: bool = False,
    clear: bool = False,
    strategy: str | Strategy | None = None,
    python_preference: str | None = None,
    confirm_replace: Callable[[str], bool] | None = None,
    on_lock_wait: Callable[[str], object] | None = None,
    seed_index_args: Sequence[str] = (),
    python_downloads: bool | Downloads = False,
    builder: type[EnvBuilder] = EnvBuilder,
) -> EnvInfo:
    """Create a virtual environment at ``path`` that runs on the filesystem it lands on.

    ``python`` is a version (``"3.12"``), a path or an executable name; ``None`` takes any
    Python, as uv finds one (the newest managed install, else ``python3`` on PATH). An
    existing environment at ``path`` is replaced only with ``clear=True``; a directory that is
    not an environment never is. Paths in the result are strings. ``prompt="."`` is the
    working directory's name. ``strategy`` forces symlink/hardlink/copy (default: decided from
    a probe of the target). ``python_preference`` is uv's (``"managed"``, ``"only-managed"``,
    ``"system"``, ``"only-system"``; default: ``UV_PYTHON_PREFERENCE``, else managed).
    ``confirm_replace(path)``, without ``clear``, decides whether an environment found at
    ``path`` is replaced (``anyvenv venv`` asks the user on a terminal). ``on_lock_wait`` is
    told when a sync of that env holds its lock and this waits. ``seed_index_args``: uv's
    index options (``--index-url U``, ``--find-links D``, ``--no-index``, ``--offline``...)
    for ``seed`` where the base bundles no pip wheel. ``python_downloads``: where no installed
    Python answers a version request, download and install the newest build that does
    (``True``; or a :class:`anyvenv.pythons.ondemand.Downloads` saying how), as ``uv venv``
    does by default. ``builder``: a subclass of :class:`EnvBuilder` that overrides some of its
    steps (``make_directories``, ``place_interpreter``, ``write_config``, ``write_scripts``,
    ``seed``...); what it makes is validated once all its steps are done, before it is put
    in place. An error's hint names create()'s keywords (``clear=True``), never the command
    line's options.

    Raises ``TypeError`` for an argument of the wrong type, and otherwise
    :class:`anyvenv.errors.AnyvenvError` subclasses (``message`` and ``hint``, picklable):
    :class:`~anyvenv.errors.UsageError` for a bad value or path (its subclass
    :class:`~anyvenv.errors.DirectoryNotWritable` for a read-only or unwritable place),
    :class:`~anyvenv.errors.InterpreterNotFound`,
    :class:`~anyvenv.errors.NothingExecutableHere` where no file can be executed,
    :class:`~anyvenv.errors.EnvironmentBroken` when the new env's python does not run as
    built (nothing is left then).
    """
    return make_environment(
        path,
        python,
        words=CREATE_WORDS,
        prompt=prompt,
        system_site_packages=system_site_packages,
        seed=seed,
        clear=clear,
        strategy=strategy,
        python_preference=python_preference,
        confirm_replace=confirm_replace,
        on_lock_wait=on_lock_wait,
        seed_index_args=seed_index_args,
        python_downloads=python_downloads,
        builder=builder,
    )


def make_environment(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    python: str | os.PathLike[str] | None = None,
    *,
    words: OptionWords,
    prompt: str | None = None,
    system_site_packages: bool = False,
    seed: bool = False,
    clear: bool = False,
    strategy: str | Strategy | None = None,
    python_preference: str | None = None,
    confirm_replace: Callable[[str], bool] | None = None,
    on_lock_wait: Callable[[str], object] | None = None,
    seed_index_args: Sequence[str] = (),
    python_downloads: bool | Downloads = False,
    builder: type[EnvBuilder] = EnvBuilder,
) -> EnvInfo:
    """:func:`create` for a front end whose user passes these arguments as ``words`` says
    (``anyvenv venv``: the command line's ``--clear``): every hint of its errors that points
    to an option names it so."""
    target = _checked_path(path)
    if python is not None and not isinstance(python, str):
        python = _checked_python(python)
    for name, flag in (
        ("system_site_packages", system_site_packages),
        ("seed", seed),
        ("clear", clear),
    ):
        if not isinstance(flag, bool):  # ("false" is true: refused, not taken)
            raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
    for name, callback in (("confirm_replace", confirm_replace), ("on_lock_wait", on_lock_wait)):
        if callback is not None and not callable(callback):
            raise TypeError(f"{name} must be callable or None, not {type(callback).__name__}")
    forced = _checked_strategy(strategy)
    if not (isinstance(builder, type) and issubclass(builder, EnvBuilder)):
        raise TypeError(f"builder must be a subclass of anyvenv.EnvBuilder, not {builder!r}")
    if python_preference is not None:
        if not isinstance(python_preference, str):
            raise TypeError(
                f"python_preference must be a str, not {type(python_preference).__name__}"
            )
        checked_preference(python_preference, "python_preference")
    if isinstance(seed_index_args, (str, bytes)):
        raise TypeError("seed_index_args must be a sequence of arguments, not one string")
    seed_index_args = tuple(seed_index_args)  # (once: an iterator is used up by a look)
    if not all(isinstance(arg, str) for arg in seed_index_args):
        raise TypeError("seed_index_args must hold str arguments only")
    if prompt is not None and not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
    if prompt is not None and "\0" in prompt:
        raise UsageError("the prompt contains a NUL character", "pass a prompt without one")
    if prompt == "." or not os.path.isabs(target):  # (both read the working directory)
        working_dir = _working_dir()
        if prompt == ".":  # as venv and uv: the name of the working directory
            prompt = os.path.basename(working_dir)
    forget_umask()  # (a host process may have changed it since the last call)
    downloads = _checked_downloads(python_downloads, words)
    try:
        info = find_or_download(python, python_preference, downloads, words=words)
    except InterpreterNotFound as missing:  # (one may be downloaded: said how, where it may)
        allow = words.option("python_downloads")
        if downloads is None and allow and may_be_downloaded(python, python_preference, missing):
            missing.hint = f"{missing.hint}, or " if missing.hint else ""
            missing.hint += f"pass {allow} to have one downloaded"
        raise
    options = EnvOptions(
        prompt=prompt,
        system_site_packages=system_site_packages,
        seed=seed,
        seed_index_args=seed_index_args,
        strategy=forced,
        clear=clear,
        confirm_replace=confirm_replace,
        words=words,
    )
    # a sync of a project whose env this is waits (and this waits for it); the lock is beside
    # the env: the directories above it are made first, and removed again if this fails
    from anyvenv.fs.atomic import refuse_wrongly_taken
    from anyvenv.fs.lock import try_env_lock
    from anyvenv.fs.parents import remove_made

    refuse_wrongly_taken(target)  # (before its lock, whose name holds it, is made)
    made = make_parents(os.path.dirname(os.path.abspath(target)))
    try:
        lock = try_env_lock(target, on_lock_wait)
        try:
            return build_environment(target, info, options, builder)
        finally:
            if lock is not None:
                lock.release()
    except BaseException:
        remove_made(made)
        raise


def _checked_path(path: object) -> str:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or an os.PathLike, not {type(path).__name__}")
    target = os.fsdecode(os.fspath(path))
    if not target:
        raise UsageError("the environment path is empty", "pass the directory to create")
    if "\0" in target:
        raise UsageError("the environment path contains a NUL character", "pass a path without one")
    return target


def _working_dir() -> str:
    try:
        return os.getcwd()
    except FileNotFoundError:
        raise UsageError(
            "the current directory does not exist", "chdir to a directory that does"
        ) from None


def _checked_python(python: object) -> str:
    if isinstance(python, os.PathLike):
        return os.fsdecode(os.fspath(python))
    raise TypeError(
        f"python must be a str (a version such as '3.12', a path or a name), "
        f"not {type(python).__name__}"
    )


def _checked_strategy(strategy: object) -> Strategy | None:
    if strategy is None or strategy == "auto":
        return None
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a str or a Strategy, not {type(strategy).__name__}")
    choices = ("auto", *(member.value for member in Strategy if member is not Strategy.REFLINK))
    if strategy in choices:  # (reflink: copy clones where the filesystem can, by itself)
        return Strategy(strategy)
    raise UsageError(
        f"strategy {strategy!r} is not one anyvenv knows",
        f"use one of {', '.join(choices)} (or None: decided from the filesystem; a copy is a "
        "reflink where the filesystem clones files)",
    )


def _checked_downloads(value: object, words: OptionWords) -> Downloads | None:
    if isinstance(value, Downloads):
        return value
    if not isinstance(value, bool):
        raise TypeError(f"python_downloads must be a bool, not {type(value).__name__}")
    source = words.option("python_downloads") or "python_downloads"
    return Downloads(lambda: ("automatic", source)) if value else None

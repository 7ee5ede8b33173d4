"""A Python downloaded on demand, as uv's ``venv``, ``sync`` and ``run`` do: where no installed
Python answers a version request and uv's python-downloads is ``automatic`` (its default), the
newest matching build is installed into anyvenv's install dir (which makes it run where it
lands) and used. Never for a path or an executable name, nor where the python-preference is
``only-system``, as in uv."""

from __future__ import annotations

import os

from anyvenv.errors import (
    AnyvenvError,
    InterpreterNotFound,
    OptionWords,
    UnsupportedPython,
    UsageError,
)
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable

    from anyvenv.interpreter.query import InterpreterInfo
    from anyvenv.pythons.installer import InstallProgress, InstallResult

# uv's accepted spellings of python-downloads (``PythonDownloads::from_str``)
_VALUES = {
    "auto": "automatic",
    "automatic": "automatic",
    "true": "automatic",
    "1": "automatic",
    "manual": "manual",
    "never": "never",
    "false": "never",
    "0": "never",
}


def parse_downloads(value: object, where: str) -> str:
    """``automatic``, ``manual`` or ``never`` from one of uv's spellings of it; a
    :class:`UsageError` naming ``where`` it was read otherwise, as uv refuses it."""
    spelled = _VALUES.get(str(value).strip().lower()) if isinstance(value, (str, bool)) else None
    if spelled is None:
        raise UsageError(
            f"{where} {value!r} is not a python-downloads value",
            "use automatic, manual or never",
        )
    return spelled


@record
class Downloads:
    """How a Python is downloaded where none answers the request: only where ``setting()``,
    uv's python-downloads and where it was read (read then, not on every run: see
    :func:`anyvenv.project.uvsettings.python_downloads_and_source`), is ``automatic``.
    ``progress`` draws the download; ``on_installed`` is told what was installed, before the
    env is built from it."""

    setting: Callable[[], tuple[str, str]]
    offline: bool = False
    progress: InstallProgress | None = None
    progress_done: Callable[[], object] | None = None  # the download is over (a bar cleared)
    on_installed: Callable[[InstallResult], object] | None = None


def find_or_download(
    raw: str | None,
    preference: str | None,
    downloads: Downloads | None,
    *,
    words: OptionWords,
) -> InterpreterInfo:
    """The interpreter for ``raw`` as :func:`anyvenv.interpreter.discovery.find_interpreter`
    finds it; where none is there and ``downloads`` allows, the newest build that answers the
    request, installed first. :class:`InterpreterNotFound` when neither can be had. ``words``:
    the caller's front end's (its options are named in the hints: its ``python``, its
    ``python_downloads`` that lets a Python be downloaded)."""
    from anyvenv.interpreter.discovery import find_interpreter, preference_of_variable
    from anyvenv.interpreter.request import parse_request

    try:
        return find_interpreter(raw, preference, words=words)
    except InterpreterNotFound as missing:
        if downloads is None or not may_be_downloaded(raw, preference, missing):
            raise
        allow = words.option("python_downloads")
        request = parse_request(raw)
        effective = preference or preference_of_variable(os.environ)
        setting, source = downloads.setting()
        version = request.raw.strip() or "3"
        from anyvenv.pythons.sources import has_build

        # (python install is refused where there is no build, or none can be told)
        if setting == "never" and not has_build(version, unknown=False):
            where = (
                "pass its path, or let PATH be searched too (a python-preference other than "
                "only-managed)"
                if effective == "only-managed"
                else "put one on PATH or pass its path"
            )
            raise InterpreterNotFound(
                missing.message, f"{where} (python-downloads is never)"
            ) from None
        if setting == "never":
            ways = [  # (the front end's option overrides the variable and settings too)
                *([allow] if allow else []),
                "UV_PYTHON_DOWNLOADS=automatic",
                "or manual and then 'anyvenv python install'",
            ]
            fix = (
                f"pass {allow} in place of {source}"
                if allow and source.startswith("--")  # (the command line's own flag)
                else f"allow downloads ({', '.join(ways)})"
            )
            raise InterpreterNotFound(
                f"{missing.message}; a build of it may be downloaded, but downloads are off "
                f"({source})",
                f"{fix}, or pass a Python's path",
            ) from None
        if setting != "automatic":
            raise
        return _downloaded(version, downloads, missing, words)


def may_be_downloaded(
    raw: str | None, preference: str | None, missing: InterpreterNotFound
) -> bool:
    """Whether a download may answer ``raw``, which ``missing`` says no installed Python
    answers: a version (not a path or a name), one CPython 3 has, under a python-preference
    that takes managed Pythons."""
    from anyvenv.interpreter.discovery import preference_of_variable
    from anyvenv.interpreter.request import parse_request

    if isinstance(missing, UnsupportedPython) or not parse_request(raw).names_a_version:
        return False
    return (preference or preference_of_variable(os.environ)) != "only-system"


def _downloaded(
    version: str, downloads: Downloads, missing: InterpreterNotFound, words: OptionWords
) -> InterpreterInfo:
    from anyvenv.interpreter.query import query_interpreter
    from anyvenv.pythons.installer import install_python
    from anyvenv.pythons.sources import NoSuchDownload

    try:
        try:
            result = install_python(
                version, progress=downloads.progress, offline=downloads.offline, words=words
            )
        finally:
            if downloads.progress_done is not None:
                downloads.progress_done()
    except NoSuchDownload as exc:  # nothing to download either: the request is what is wrong
        raise InterpreterNotFound(
            f"{missing.message}, and there is no build of it to download ({exc.message})",
            exc.hint,
        ) from exc
    except AnyvenvError as exc:
        raise InterpreterNotFound(
            f"{missing.message}, and downloading one failed: {exc.message}",
            exc.hint or missing.hint,
        ) from exc
    if downloads.on_installed is not None:
        downloads.on_installed(result)
    executable = os.fspath(result.install.executable)
    if result.status == "already installed":  # (one discovery passed over as not runnable)
        from anyvenv.pythons.installed import unrunnable_fix, why_not_runnable

        why = why_not_runnable(executable)
        if why is not None:
            raise InterpreterNotFound(
                f"{missing.message}, and the install of it at {result.install.path} cannot be "
                f"run ({why})",
                unrunnable_fix(executable, words),
            )
    return query_interpreter(executable)

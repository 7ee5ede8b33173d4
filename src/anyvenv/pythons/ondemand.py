"""A Python downloaded on demand, as uv's ``venv``, ``sync`` and ``run`` do: where no installed
Python answers a version request and uv's python-downloads is ``automatic`` (its default), the
newest matching build is installed into anyvenv's install dir (which makes it run where it
lands) and used. Never for a path or an executable name, nor where the python-preference is
``only-system``, as in uv."""

from __future__ import annotations

import os

from anyvenv.errors import (
    NO_OPTIONS,
    AnyvenvError,
    InterpreterNotFound,
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
    option: str | None = "--python",
) -> InterpreterInfo:
    """The interpreter for ``raw`` as :func:`anyvenv.interpreter.discovery.find_interpreter`
    finds it; where none is there and ``downloads`` allows, the newest build that answers the
    request, installed first. :class:`InterpreterNotFound` when neither can be had."""
    from anyvenv.interpreter.discovery import find_interpreter, preference_of_variable
    from anyvenv.interpreter.request import parse_request

    try:
        return find_interpreter(raw, preference, option=option)
    except InterpreterNotFound as missing:
        request = parse_request(raw)
        if downloads is None or not request.names_a_version:
            raise
        if isinstance(missing, UnsupportedPython):
            raise  # (no build for it either)
        effective = preference or preference_of_variable(os.environ)
        if effective == "only-system":
            raise
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
            allow = (  # (--allow-python-downloads overrides the variable and settings too)
                f"pass --allow-python-downloads in place of {source}"
                if source.startswith("--")
                else "allow downloads (--allow-python-downloads, UV_PYTHON_DOWNLOADS=automatic, "
                "or manual and then 'anyvenv python install')"
            )
            raise InterpreterNotFound(
                f"{missing.message}; a build of it may be downloaded, but downloads are off "
                f"({source})",
                f"{allow}, or pass a Python's path",
            ) from None
        if setting != "automatic":
            raise
        return _downloaded(version, downloads, missing)


def _downloaded(
    version: str, downloads: Downloads, missing: InterpreterNotFound
) -> InterpreterInfo:
    from anyvenv.interpreter.query import query_interpreter
    from anyvenv.pythons.installer import install_python
    from anyvenv.pythons.sources import NoSuchDownload

    try:
        try:
            result = install_python(version, progress=downloads.progress, offline=downloads.offline)
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
                unrunnable_fix(executable, NO_OPTIONS),
            )
    return query_interpreter(executable)

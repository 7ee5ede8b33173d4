"""Which ``uv`` executable anyvenv runs: the one installed with the ``uv`` package it depends on."""

from __future__ import annotations

import os
import sys

from anyvenv.errors import AnyvenvError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence


def find_uv() -> str:
    """The uv executable of the ``uv`` package (a dependency of anyvenv) that this Python
    imports: in a virtual environment (where pipx, ``uv tool install`` or a project's venv
    put anyvenv) its ``bin/uv``; else the scripts directory beside the package (``pip install
    --user`` puts both under ``~/.local``, while the base Python's own scripts directory may
    hold an older uv); else where the package's ``find_uv_bin`` finds it."""
    for candidate in uv_candidates(sys.path):
        if os.path.isfile(candidate):
            return candidate
    try:
        from uv import find_uv_bin

        return os.fspath(find_uv_bin())
    except (ImportError, FileNotFoundError) as exc:
        raise AnyvenvError(
            f"uv is not available ({exc})", "install anyvenv with its dependencies (pip install uv)"
        ) from exc


def uv_candidates(path: Sequence[str]) -> Iterator[str]:
    """Where ``uv`` may be, best first, for a Python whose module search path is ``path``.
    In a virtual environment every POSIX scheme puts scripts in ``{sys.prefix}/bin``, so
    sysconfig and its build data (a few ms to import) are not needed to know it."""
    if os.name == "posix" and sys.prefix != sys.base_prefix:
        yield os.path.join(sys.prefix, "bin", "uv")
    beside = _beside_uv_package(path)
    if beside is not None:
        yield beside
    import sysconfig

    scripts = sysconfig.get_path("scripts")
    if scripts:
        yield os.path.join(scripts, "uv" + (sysconfig.get_config_var("EXE") or ""))


def _beside_uv_package(path: Sequence[str]) -> str | None:
    """The ``uv`` that was installed with the ``uv`` package ``import uv`` would load (the
    first entry of ``path`` that holds it): ``PREFIX/bin/uv`` for a package in
    ``PREFIX/lib/pythonX.Y/site-packages`` (or Debian's ``dist-packages``), ``ENTRY/bin/uv``
    for one installed with ``pip install --target ENTRY``."""
    for entry in path:
        if not entry or not os.path.isfile(os.path.join(entry, "uv", "__init__.py")):
            continue
        site = os.path.abspath(entry)
        below, packages = os.path.split(site)
        lib, version = os.path.split(below)
        prefix, lib_name = os.path.split(lib)
        if (
            packages in ("site-packages", "dist-packages")
            and version.startswith("python")
            and lib_name in ("lib", "lib64")
        ):
            return os.path.join(prefix, "bin", "uv")
        return os.path.join(site, "bin", "uv")
    return None


def in_utf8_locale(environ: Mapping[str, str]) -> Mapping[str, str]:
    """``environ`` for uv. uv reads what the pythons it asks about print (their
    ``sys.prefix``: where it installs) as UTF-8, while a python under a locale of another
    encoding (Latin-1) prints a path in that one: uv 0.13 then installs into a doubly
    encoded sibling of the env (``projé`` read as ``projÃ©``). Where this process's paths
    are not UTF-8, uv runs under C.UTF-8 (where that locale is missing, Python starts in
    UTF-8 mode under C all the same)."""
    if sys.getfilesystemencoding().replace("-", "").lower() == "utf8":
        return environ
    return {**environ, "LC_ALL": "C.UTF-8"}

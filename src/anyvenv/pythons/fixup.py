"""Make an extracted build describe where it lies, not where it was built.

python-build-standalone builds with prefix ``/install``; ``sysconfig`` then reports
``LIBDIR=/install/lib``, ``INCLUDEPY=/install/include/python3.X`` and so on, which breaks
building extensions and anything that asks sysconfig for paths. As uv and PDM do, the
build's ``_sysconfigdata_*.py`` (and ``_sysconfig_vars_*.json`` of 3.14+) get the real
prefix, and ``lib/pkgconfig/*.pc`` get a prefix relative to themselves.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import pprint
import re
import stat
from pathlib import Path

from anyvenv.errors import AnyvenvError
from anyvenv.fs.atomic import atomic_write
from anyvenv.fs.place import DATA_MODE

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

BUILD_PREFIX = "/install"  # where python-build-standalone builds install, named in sysconfig
_HEADER = "# system configuration generated and used by the sysconfig module\n"
# the build prefix as a whole path or path prefix, at the start of a word or after -I/-L/=/: .
_PREFIX_RE = re.compile(
    r"(?:^|(?<=[\s=:,'\"])|(?<=-I)|(?<=-L))" + re.escape(BUILD_PREFIX) + r"(?=$|[/\s:,'\"])"
)


class SysconfigNotPatched(AnyvenvError):
    """The build's sysconfig data could not be read or rewritten."""


def replace_build_prefix(value: str, prefix: str) -> str:
    """``value`` with every ``/install`` path (``/install``, ``/install/lib``,
    ``-L/install/lib``) moved to ``prefix``; other text untouched."""
    return _PREFIX_RE.sub(lambda _: prefix, value)


def patch_config_vars(variables: dict[str, Any], prefix: str) -> dict[str, Any]:
    """String values with the build prefix replaced; uv's ``PYTHON_BUILD_STANDALONE`` mark."""
    patched = {
        key: replace_build_prefix(value, prefix) if isinstance(value, str) else value
        for key, value in variables.items()
    }
    patched["PYTHON_BUILD_STANDALONE"] = 1
    return patched


def _regular_files(directory: Path, pattern: str) -> list[Path]:
    try:
        candidates = sorted(directory.glob(pattern))
    except OSError:
        return []
    return [path for path in candidates if stat.S_ISREG(os.lstat(path).st_mode)]


def _read_build_time_vars(path: Path) -> dict[str, Any]:
    source = path.read_text(encoding="utf-8")
    try:
        module = ast.parse(source, str(path))
        for node in module.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "build_time_vars"
            ):
                value = ast.literal_eval(node.value)
                if isinstance(value, dict):
                    return value
    except (SyntaxError, ValueError) as exc:
        raise SysconfigNotPatched(
            f"cannot read {path.name} of the new Python ({exc})",
            "the build is damaged; nothing was installed",
        ) from exc
    raise SysconfigNotPatched(
        f"{path.name} of the new Python has no build_time_vars",
        "the build is not a python-build-standalone build; nothing was installed",
    )


def _patch_sysconfigdata(path: Path, prefix: str) -> None:
    variables = patch_config_vars(_read_build_time_vars(path), prefix)
    text = _HEADER + "build_time_vars = " + pprint.pformat(variables, width=100) + "\n"
    atomic_write(path, text.encode("utf-8"), DATA_MODE)
    for cached in _regular_files(path.parent / "__pycache__", f"{path.stem}.*.pyc"):
        with contextlib.suppress(OSError):
            cached.unlink()


def _patch_vars_json(path: Path, prefix: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        atomic_write(
            path, json.dumps(patch_config_vars(data, prefix), indent=2).encode(), DATA_MODE
        )


def patch_pkgconfig_text(text: str) -> str:
    """``prefix=/install`` lines become ``prefix=${pcfiledir}/../..`` (the file's own place)."""
    return "".join(
        re.sub(r"^([A-Za-z_]+)=/install$", r"\1=${pcfiledir}/../..", line.rstrip("\n"))
        + ("\n" if line.endswith("\n") else "")
        for line in text.splitlines(keepends=True)
    )


def fix_up_install(root: Path, final_prefix: Path, executable_name: str) -> list[Path]:
    """Rewrite the build prefix in the install at ``root`` (which will live at
    ``final_prefix``); returns the files changed. Raises :class:`SysconfigNotPatched`
    when the build has no sysconfig data to patch."""
    stdlib = root / "lib" / executable_name
    prefix = str(final_prefix)
    changed: list[Path] = []
    data_files = _regular_files(stdlib, "_sysconfigdata_*.py")
    if not data_files:
        raise SysconfigNotPatched(
            f"the new Python has no lib/{executable_name}/_sysconfigdata_*.py",
            "the build is not a python-build-standalone install_only build; nothing was installed",
        )
    for path in data_files:
        _patch_sysconfigdata(path, prefix)
        changed.append(path)
    for path in _regular_files(stdlib, "_sysconfig_vars_*.json"):
        _patch_vars_json(path, prefix)
        changed.append(path)
    for path in _regular_files(root / "lib" / "pkgconfig", "*.pc"):
        text = path.read_text(encoding="utf-8")
        patched = patch_pkgconfig_text(text)
        if patched != text:
            atomic_write(path, patched.encode("utf-8"), DATA_MODE)
            changed.append(path)
    return changed

"""What ``anyvenv check`` finds in an environment's activation scripts and editable
installs: activation scripts missing or empty, or that name where the env was before it was
moved or copied, and editable installs that name the project it was moved or copied from."""

from __future__ import annotations

import os
import re
from pathlib import Path

from anyvenv.fs.paths import same_directory, same_file
from anyvenv.repair.findings import Code, Finding, warning

_ACTIVATED_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?VIRTUAL_ENV=(.+?)[ \t]*$", re.M)


def activated_dir(env: Path) -> str | None:
    """The directory ``bin/activate`` activates, when it names one literally (uv, venv,
    virtualenv and anyvenv write ``VIRTUAL_ENV='/path'``; a relocatable script names none)."""
    try:
        with open(env / "bin" / "activate", "rb") as handle:
            text = os.fsdecode(handle.read(1 << 16))  # (the path's bytes: as the env's are)
    except OSError:
        return None
    import shlex

    for found in _ACTIVATED_LINE.finditer(text):
        try:  # one shell word however it is quoted (a path with a quote is written '\'')
            words = shlex.split(found.group(1), comments=True)
        except ValueError:  # (unbalanced quotes: not a line that names a path)
            continue
        if len(words) == 1 and words[0].startswith("/"):
            return words[0]
    return None  # (venv's `$(cygpath ...)` and a relocatable script's name no path)


def _same_project(old_root: str, new_root: str) -> bool:
    """Whether ``new_root`` is the project at ``old_root`` moved (it is gone) or copied (its
    pyproject.toml is the same), by the pyproject.toml each holds."""
    new = os.path.join(new_root, "pyproject.toml")
    try:
        with open(new, "rb") as handle:
            here = handle.read(1 << 20)
    except OSError:
        return False
    try:
        with open(os.path.join(old_root, "pyproject.toml"), "rb") as handle:
            return handle.read(1 << 20) == here
    except FileNotFoundError:
        return not os.path.exists(old_root)
    except OSError:
        return False


def check_activation(env: Path, findings: list[Finding]) -> None:
    if not os.path.lexists(env / "bin" / "activate"):
        findings.append(
            warning(
                Code.ACTIVATION_MISSING,
                "bin/activate is missing: the environment cannot be activated (the tool that "
                "made it stopped before writing its activation scripts?)",
                env / "bin" / "activate",
            )
        )
        return
    activated = activated_dir(env)
    empty = _empty_activation_scripts(env)
    if activated is not None and not same_directory(activated, env):
        findings.append(
            warning(
                Code.ACTIVATION_STALE,
                f"bin/activate activates {activated}, not this environment (moved?)",
                env / "bin" / "activate",
                activates=activated,
            )
        )
        _check_editables(env, activated, findings)
    if empty:  # (after a stale one: its rewrite keeps an empty script empty)
        findings.append(
            warning(
                Code.ACTIVATION_EMPTY,
                f"{', '.join('bin/' + name for name in empty)} "
                f"{'are' if len(empty) > 1 else 'is'} empty (0 bytes: a crash kept the name, "
                "not the contents): activating with it does nothing",
                env / "bin" / empty[0],
                scripts="\n".join(empty),
            )
        )


def _empty_activation_scripts(env: Path) -> list[str]:
    """The activation scripts anyvenv writes that are regular files of 0 bytes in bin/."""
    from anyvenv.envbuild.activation import SCRIPT_NAMES
    from anyvenv.fs.paths import is_empty_file

    return [name for name in SCRIPT_NAMES if is_empty_file(env / "bin" / name)]


def _check_editables(env: Path, old_env: str, findings: list[Finding]) -> None:
    """Editable installs that name the project the env was moved or copied from (the env's
    old parent), where the same place exists in the project it is in now: their packages
    import the old project's code, or fail where it is gone."""
    from anyvenv.repair.envstate import editable_files, named_below

    old_root, new_root = os.path.dirname(old_env), os.path.dirname(os.fspath(env))
    if old_root in ("", "/") or same_file(old_root, new_root):
        return
    if not _same_project(old_root, new_root):
        return  # (an env copied alone into another project: whose code it means is unclear)
    stale = []
    for path in editable_files(env):
        try:
            with open(path, "rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            continue
        tails = named_below(data, old_root)
        if any(os.path.exists(new_root + os.fsdecode(tail)) for tail in tails):
            stale.append(os.fsdecode(path))
    if stale:
        findings.append(
            warning(
                Code.EDITABLE_STALE,
                f"{len(stale)} file{'s' if len(stale) > 1 else ''} of editable installs name "
                f"{old_root}, the project this environment was moved or copied from: their "
                f"packages import its code, not that of {new_root}",
                None,
                old=old_root,
                new=new_root,
                files="\n".join(stale),
            )
        )

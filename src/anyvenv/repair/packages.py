"""What ``anyvenv check`` finds in the ``.dist-info`` of an environment's packages:
packages installed half-way (no METADATA, or no RECORD), and ones with an empty RECORD or
METADATA."""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.envbuild.layout import site_packages_path
from anyvenv.repair.findings import Code, Finding, warning
from anyvenv.repair.looking import MISSING, asks_at_once, for_each
from anyvenv.repair.reinstall import package_of, reinstall_commands, reinstall_for


def check_packages(env: Path, sites: list[tuple[int, int, bool]], findings: list[Finding]) -> None:
    """Installs an installer gave up on half-way (uv where chmod fails): a ``.dist-info``
    without its METADATA, which importlib.metadata and pip cannot read; and one whose RECORD
    or METADATA is there but empty (a crash of the machine kept their names, not their
    bytes). Repair cannot make the package again; the finding says how to."""
    for major, minor, threaded in sites:
        site = env / site_packages_path((major, minor), threaded)
        try:
            names = sorted(os.listdir(site))
        except OSError:
            continue
        infos = [name for name in names if name.endswith(".dist-info")]
        paths = [site / name / file for name in infos for file in _DIST_INFO_NEEDS]
        found = iter(for_each(_size_of, paths, asks_at_once(site)))
        for name in infos:
            sizes = {file: next(found) for file in _DIST_INFO_NEEDS}
            missing = [file for file, size in sizes.items() if size == MISSING]
            if not missing:
                empty = [file for file, size in sizes.items() if size == 0]
                if empty:
                    findings.append(_empty_dist_info_finding(env, site / name, empty))
                continue
            package = package_of(name)
            why = (
                "the install of {package} stopped half-way"
                if "METADATA" in missing
                else "an uninstall cannot tell its files"
            ).format(package=package)
            findings.append(
                warning(
                    Code.PACKAGE_INCOMPLETE,
                    f"{name} has no {' and no '.join(missing)}: {why}; reinstall it "
                    f"({reinstall_commands(env, site / name, 'anyvenv sync')})",
                    site / name,
                    package=package,
                )
            )


_DIST_INFO_NEEDS = ("METADATA", "RECORD")
"""The files of a ``.dist-info`` without which its package cannot be read or uninstalled."""


def _size_of(path: Path) -> int | None:
    """The size of the file at ``path`` (not followed), ``MISSING`` where there is none;
    ``None`` where it cannot be looked at, or is no regular file."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return MISSING
    except (OSError, ValueError):
        return None
    import stat

    return found.st_size if stat.S_ISREG(found.st_mode) else None


def _empty_dist_info_finding(env: Path, dist_info: Path, empty: list[str]) -> Finding:
    """A ``.dist-info`` whose RECORD or METADATA is a file of 0 bytes: the files a RECORD
    lists cannot be checked, nor removed by an uninstall or upgrade, which leaves them
    behind; an empty METADATA gives importlib.metadata no name nor version."""
    package = package_of(dist_info.name)
    what = " and ".join(empty)
    harm = []
    if "RECORD" in empty:
        harm.append("its files cannot be checked, and an uninstall or upgrade cannot tell them")
    if "METADATA" in empty:
        harm.append("importlib.metadata finds no name or version in it")
    return warning(
        Code.PACKAGE_RECORD_EMPTY,
        f"{dist_info.name}/{what} {'are' if len(empty) > 1 else 'is'} empty (0 bytes: a crash "
        f"kept the name, not the contents): {'; '.join(harm)}; reinstall it "
        f"({reinstall_for(env, dist_info)})",
        dist_info,
        package=package,
        files="\n".join(empty),
    )

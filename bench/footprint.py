"""Bytes an env costs per interpreter placement: ``du --apparent-size -s``, and the bytes
actually written (regular files whose inode is not shared with a file outside the env, plus
symlink targets; a hard link to the base writes nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import run_timed
from outcome import created_outcome, placement_of
from peers import ANYVENV, Creator, Tools, creators

from lab import Lab


@dataclass(frozen=True)
class Footprint:
    label: str
    placement: str
    files: int = 0
    apparent: int = 0
    written: int = 0
    detail: str = ""


def measure(env: Path) -> tuple[int, int, int]:
    """(entries, du apparent bytes, bytes written) of the tree at ``env``."""
    du = subprocess.run(
        ["du", "--apparent-size", "-s", "-B1", str(env)], capture_output=True, text=True, check=True
    )
    apparent = int(du.stdout.split()[0])
    seen: Counter[tuple[int, int]] = Counter()
    sizes: dict[tuple[int, int], tuple[int, int]] = {}
    entries, written = 0, 0
    for directory, dirs, files in os.walk(env):
        for name in dirs + files:
            info = os.lstat(os.path.join(directory, name))
            entries += 1
            if os.path.islink(os.path.join(directory, name)):
                written += info.st_size
            elif not os.path.isdir(os.path.join(directory, name)):
                key = (info.st_dev, info.st_ino)
                seen[key] += 1
                sizes[key] = (info.st_size, info.st_nlink)
    for key, count in seen.items():
        size, links = sizes[key]
        if links <= count:  # every name of this inode is inside the env: it was written
            written += size
    return entries, apparent, written


def bench_footprint(
    lab: Lab, tools: Tools, origin_base: Path | None, log: Callable[[str], None]
) -> list[Footprint]:
    log("bytes per strategy on local disk")
    base = str(tools.base)
    cases: list[tuple[str, Creator, dict[str, str]]] = []

    def anyvenv(*options: str, python: str = base) -> Creator:
        return lambda p: [tools.anyvenv, "venv", "-q", *options, "-p", python, str(p)]

    cases += [
        ("anyvenv --strategy symlink", anyvenv("--strategy", "symlink"), {}),
        ("anyvenv --strategy hardlink", anyvenv("--strategy", "hardlink"), {}),
        ("anyvenv --strategy copy", anyvenv("--strategy", "copy"), {}),
    ]
    if origin_base is not None:
        copy = anyvenv("--strategy", "copy", python=str(origin_base))
        cases += [
            ("anyvenv --strategy copy, $ORIGIN base", copy, {}),
            (
                "anyvenv --strategy copy, $ORIGIN base, ANYVENV_PATCHELF=",
                copy,
                {"ANYVENV_PATCHELF": ""},
            ),
        ]
    cases += [(name, make, {}) for name, make in creators(tools).items() if name != ANYVENV]
    results = []
    for label, make, extra in cases:
        parent = lab.target("local", "bytes")
        env = parent / "env"
        environ = {**tools.environ, **extra}
        outcome = created_outcome(run_timed(make(env), environ), env, environ)
        if outcome.seconds is None or not env.is_dir():
            results.append(Footprint(label, "", detail=f"{outcome.status.value}: {outcome.detail}"))
        else:
            entries, apparent, written = measure(env)
            results.append(Footprint(label, placement_of(env), entries, apparent, written))
        shutil.rmtree(parent, ignore_errors=True)
    return results

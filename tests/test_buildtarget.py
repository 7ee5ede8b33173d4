"""This machine's build target name (anyvenv.interpreter.buildtarget)."""

from __future__ import annotations

import subprocess

from anyvenv.interpreter.buildtarget import Platform, current_platform


def test_current_platform_is_this_machine() -> None:
    here = current_platform()
    machine = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True)
    assert here.os == "linux"
    assert here.libc == "gnu"  # Debian: glibc
    assert here.arch == {"amd64": "x86_64", "arm64": "aarch64"}.get(
        machine.stdout.strip(), machine.stdout.strip()
    )
    assert here.key == f"linux-{here.arch}-gnu"


def test_platforms_are_values() -> None:
    assert Platform("linux", "x86_64", "gnu") == Platform("linux", "x86_64", "gnu")
    assert Platform("linux", "x86_64", "musl").key == "linux-x86_64-musl"

"""This machine as python-build-standalone and uv name build targets: ``linux-x86_64-gnu``."""

from __future__ import annotations

import sys

from anyvenv.record import record


@record
class Platform:
    """A build target in uv's words: ``linux``, ``x86_64``, ``gnu``."""

    os: str
    arch: str
    libc: str

    @property
    def key(self) -> str:
        return f"{self.os}-{self.arch}-{self.libc}"


def current_platform() -> Platform:
    """This machine as build targets name it."""
    import os

    system = "darwin" if sys.platform == "darwin" else sys.platform.rstrip("0123456789")
    machine = os.uname().machine.lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64", "x86": "i686", "i386": "i686"}.get(
        machine, machine
    )
    if system != "linux":
        return Platform(system, arch, "none")
    try:  # glibc says so itself; musl has no such value
        glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        glibc = ""
    if glibc.startswith("glibc"):
        return Platform(system, arch, "gnu")
    import platform  # here: it costs start-up time, and it reads the executable

    name = platform.libc_ver()[0]
    libc = "gnu" if name == "glibc" else "musl" if "musl" in name else name or "musl"
    return Platform(system, arch, libc)

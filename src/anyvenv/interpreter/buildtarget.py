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

    def runs(self, key: str) -> bool:
        """Whether builds for ``key`` (``linux-x86_64_v3-gnu``, as uv names an install) are
        for this machine, as uv reads those names: the same OS, the same architecture of any
        micro-architecture level (``_v2``, ``_v3``, ``_v4``), the same libc (``gnueabihf``
        is glibc). Whether this CPU has what a level asks is for its interpreter to say."""
        parts = key.split("-")
        if len(parts) != 3:
            return False
        os_name, arch, libc = parts
        return (
            os_name == self.os
            and _arch_family(arch) == _arch_family(self.arch)
            and _libc_family(libc) == _libc_family(self.libc)
        )


def _arch_family(arch: str) -> str:
    name, _, level = arch.rpartition("_v")
    return name if name and level.isdecimal() else arch


def _libc_family(libc: str) -> str:
    return "gnu" if libc.startswith("gnu") else libc


# uname's machine names that uv names otherwise
_UV_ARCH_NAMES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "x86": "i686",
    "i386": "i686",
    "armv7l": "armv7",
    "armv6l": "armv6",
    "ppc64le": "powerpc64le",
    "ppc64": "powerpc64",
}


def current_platform() -> Platform:
    """This machine as build targets name it."""
    import os

    system = "darwin" if sys.platform == "darwin" else sys.platform.rstrip("0123456789")
    machine = os.uname().machine.lower()
    arch = _UV_ARCH_NAMES.get(machine, machine)
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

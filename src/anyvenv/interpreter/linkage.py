"""Where an interpreter's libpython comes from, decided from the ELF file, not sysconfig.

Debian's python3.11 says ``Py_ENABLE_SHARED=1`` yet links libpython statically; a pyenv
build finds it through an absolute RUNPATH; an older python-build-standalone build through
``$ORIGIN/../lib``. Only the last kind breaks when the executable is copied elsewhere.
"""

from __future__ import annotations

import os

from anyvenv.interpreter.elf import DynamicInfo, NotElf, expand_origin, read_dynamic_info
from anyvenv.record import StrChoice, record


class LibpythonLink(str, StrChoice):
    """How the executable reaches libpython; the value is what reports print."""

    STATIC = "static"  # no libpython needed: a copy runs anywhere
    ABSOLUTE = "absolute"  # found through an absolute RUNPATH/RPATH: a copy runs
    SYSTEM = "system"  # found in the loader's default dirs: a copy runs
    ORIGIN = "origin"  # found relative to the executable: a copy must bring it along
    UNKNOWN = "unknown"  # not ELF (e.g. macOS) or unresolved


@record
class Linkage:
    kind: LibpythonLink
    soname: str | None = None  # e.g. libpython3.12.so.1.0
    library: str | None = None  # resolved path of the base's libpython
    origin_entry: str | None = None  # the $ORIGIN-relative dir or NEEDED path, as written
    dynamic: DynamicInfo | None = None

    @property
    def copy_needs_library(self) -> bool:
        """A plain copy of the executable would not find the base's libpython."""
        return self.kind is LibpythonLink.ORIGIN

    def relative_library_dir(self) -> str | None:
        """For ORIGIN: where, relative to the executable's dir, the loader looks (``../lib``)."""
        if self.origin_entry is None:
            return None
        entry = self.origin_entry
        if self.soname and entry.endswith("/" + self.soname):
            entry = entry[: -len(self.soname) - 1]
        rel = entry.replace("${ORIGIN}", "$ORIGIN").removeprefix("$ORIGIN").lstrip("/")
        return rel or "."


SYSTEM_LIBRARY_DIRS = (
    "/lib",
    "/usr/lib",
    "/lib64",
    "/usr/lib64",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/local/lib",
)


def libpython_linkage(executable: str | os.PathLike[str]) -> Linkage:
    """Classify how ``executable`` (resolved) loads libpython."""
    real = os.path.realpath(executable)
    try:
        dynamic = read_dynamic_info(real)
    except (NotElf, OSError, ValueError, IndexError):
        return Linkage(LibpythonLink.UNKNOWN)
    origin = os.path.dirname(real)
    for needed in dynamic.needed:
        if "libpython" not in os.path.basename(needed):
            continue
        soname = os.path.basename(needed)
        if "/" in needed:  # a path in NEEDED: the loader opens it as written
            resolved = os.path.normpath(expand_origin(needed, origin))
            kind = LibpythonLink.ORIGIN if "ORIGIN" in needed else LibpythonLink.ABSOLUTE
            return Linkage(
                kind, soname, resolved, needed if kind is LibpythonLink.ORIGIN else None, dynamic
            )
        for entry in dynamic.library_search_path:
            candidate = os.path.join(expand_origin(entry, origin), soname)
            if os.path.exists(candidate):
                if "ORIGIN" in entry:
                    return Linkage(
                        LibpythonLink.ORIGIN, soname, os.path.normpath(candidate), entry, dynamic
                    )
                return Linkage(
                    LibpythonLink.ABSOLUTE, soname, os.path.normpath(candidate), None, dynamic
                )
        for directory in SYSTEM_LIBRARY_DIRS:
            candidate = os.path.join(directory, soname)
            if os.path.exists(candidate):
                return Linkage(
                    LibpythonLink.SYSTEM, soname, os.path.realpath(candidate), None, dynamic
                )
        return Linkage(LibpythonLink.UNKNOWN, soname, None, None, dynamic)
    return Linkage(LibpythonLink.STATIC, dynamic=dynamic)

"""The placement plan of an env's interpreter, from a probe of the target and the base."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyvenv.envbuild import plan
from anyvenv.envbuild.plan import LibraryPlacement, plan_interpreter
from anyvenv.fs.place import Strategy
from anyvenv.fs.probe import probe
from anyvenv.interpreter.elf import DynamicInfo
from anyvenv.interpreter.linkage import LibpythonLink, Linkage, libpython_linkage
from anyvenv.interpreter.query import query_interpreter
from anyvenv.record import replace
from support import BASE


def _symlinks_broken_here(directory: Path) -> object:
    """The probe of ``directory`` (local disk, beside the base) as if its symlinks were not
    read back (a share's): the case where hard links to the base are the next choice."""
    measured = probe(str(directory))
    assert measured.hardlinks_work
    return replace(measured, symlink_absolute="EACCES")


def test_hard_links_where_the_base_may_be_linked(tmp_path: Path) -> None:
    info = query_interpreter(str(BASE))
    result = plan_interpreter(
        _symlinks_broken_here(tmp_path), info, libpython_linkage(info.executable), tmp_path
    )  # type: ignore[arg-type]
    assert result.strategy is Strategy.HARDLINK


def test_a_base_the_user_may_not_hard_link_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's interpreter under fs.protected_hardlinks (test_place proves the kernel
    refuses the link): copied, and the reason says why, instead of failing EPERM."""
    monkeypatch.setattr(plan, "may_hard_link", lambda path: False)
    info = query_interpreter(str(BASE))
    linkage = libpython_linkage(info.executable)
    result = plan_interpreter(_symlinks_broken_here(tmp_path), info, linkage, tmp_path)  # type: ignore[arg-type]
    assert result.strategy is Strategy.COPY
    assert "not to the base" in result.reason
    assert result.library is not LibraryPlacement.HARDLINK


@pytest.mark.parametrize(
    ("needed", "placement"),
    [
        (("libc.so.6", "$ORIGIN/../lib/libpython3.12.so.1.0"), LibraryPlacement.COPY),
        (("$ORIGIN/../libpython-env/libz.so.1", "libpython3.12.so.1.0"),
         LibraryPlacement.PATCHED_RUNPATH),
    ],
    ids=["libpython-by-path", "another-library-under-a-libpython-dir"],
)  # fmt: skip
def test_only_a_libpython_named_by_path_rules_out_patching_runpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, needed: tuple[str, ...],
    placement: LibraryPlacement,
) -> None:  # fmt: skip
    """RUNPATH cannot redirect a NEEDED entry that is a path, so such a libpython is copied;
    another library's path under a directory named ``libpython-env`` does not count."""
    monkeypatch.setattr(plan, "find_patchelf", lambda: "/usr/bin/patchelf")
    linkage = Linkage(LibpythonLink.ORIGIN, "libpython3.12.so.1.0", "/b/lib/libpython3.12.so.1.0",
                      "$ORIGIN/../lib", DynamicInfo(needed=needed, runpath=("$ORIGIN/../lib",)))  # fmt: skip
    measured = probe(str(tmp_path))
    chosen = plan._choose_library(Strategy.COPY, linkage, measured, same_fs=False)
    assert chosen is placement

"""Mirroring distributions from a shadow env into an env, per dist-info and RECORD."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from anyvenv.envbuild.shebang import retarget_shebang
from anyvenv.project.mirror import EnvTree, mirror

SITE = "lib/python3.12/site-packages"


def _install(tree: EnvTree, name: str, version: str, files: dict[str, tuple[bytes, int]]) -> None:
    """Write a distribution as an installer would: files (paths relative to site-packages)
    and a RECORD listing them."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        **files,
        f"{dist_info}/METADATA": (f"Name: {name}\nVersion: {version}\n".encode(), 0o644),
    }
    lines = []
    for relative, (data, mode) in files.items():
        path = Path(os.path.normpath(tree.site_packages / relative))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            path.chmod(mode)
        except OSError as exc:  # (FAT: chmod fails, every file is 0755 there)
            if exc.errno != errno.ENOSYS:
                raise
        lines.append(f"{relative},,{len(data)}")
    lines.append(f"{dist_info}/RECORD,,")
    (tree.site_packages / dist_info / "RECORD").write_text("\n".join(lines) + "\n")


def _script(root: Path) -> bytes:
    return f"#!{root}/bin/python\nimport tool\ntool.main()\n".encode()


def _made_envs(source_root: Path, dest_root: Path) -> tuple[EnvTree, EnvTree]:
    source = EnvTree.of(source_root, SITE)
    dest = EnvTree.of(dest_root, SITE)
    for tree in (source, dest):
        tree.site_packages.mkdir(parents=True)
        (tree.root / "bin").mkdir()
    return source, dest


@pytest.fixture
def envs(tmp_path: Path) -> tuple[EnvTree, EnvTree]:
    return _made_envs(tmp_path / "shadow", tmp_path / "env")


def test_adds_with_modes_and_new_shebangs_then_is_a_no_op(envs: tuple[EnvTree, EnvTree]) -> None:
    source, dest = envs
    _install(source, "tool", "1.0", {
        "tool/__init__.py": (b"def main(): print('hi')\n", 0o644),
        "tool/data.bin": (b"\0\1", 0o644),
        "../../../bin/tool": (_script(source.root), 0o755),
        "../../../share/tool/doc.txt": (b"doc", 0o644),
    })  # fmt: skip
    told: list[tuple[int, int]] = []
    report = mirror(source, dest, lambda done, total: told.append((done, total)))
    assert report.added == ["tool"] and report.files_written == 6
    assert told == [(n, 6) for n in range(1, 7)]  # every file, counted against the total
    script = dest.root / "bin" / "tool"
    assert script.read_bytes() == _script(dest.root)
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert stat.S_IMODE((dest.site_packages / "tool" / "data.bin").stat().st_mode) == 0o644
    assert (dest.root / "share" / "tool" / "doc.txt").read_bytes() == b"doc"
    assert (dest.site_packages / "tool-1.0.dist-info" / "RECORD").read_bytes() == (
        source.site_packages / "tool-1.0.dist-info" / "RECORD"
    ).read_bytes()
    again = mirror(source, dest)
    assert not again.changed and again.files_written == 0


def test_upgrade_replaces_files_and_drops_the_old_ones(envs: tuple[EnvTree, EnvTree]) -> None:
    source, dest = envs
    _install(
        source, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644), "tool/old.py": (b"x", 0o644)}
    )
    mirror(source, dest)
    (dest.site_packages / "tool" / "__pycache__").mkdir()
    (dest.site_packages / "tool" / "__pycache__" / "old.cpython-312.pyc").write_bytes(b"pyc")
    for path in sorted(source.site_packages.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    _install(
        source, "tool", "2.0", {"tool/__init__.py": (b"v2", 0o644), "tool/new.py": (b"y", 0o644)}
    )
    report = mirror(source, dest)
    assert report.updated == ["tool"]
    names = sorted(p.name for p in dest.site_packages.iterdir())
    assert names == ["tool", "tool-2.0.dist-info"]
    # old.py went, with its compiled file and the __pycache__ that it emptied
    assert sorted(p.name for p in (dest.site_packages / "tool").iterdir()) == [
        "__init__.py", "new.py"
    ]  # fmt: skip
    assert (dest.site_packages / "tool" / "__init__.py").read_bytes() == b"v2"


def test_removal_uses_the_envs_own_record_and_prunes(envs: tuple[EnvTree, EnvTree]) -> None:
    source, dest = envs
    _install(dest, "gone", "1.0", {
        "gone/__init__.py": (b"", 0o644),
        "gone/sub/mod.py": (b"", 0o644),
        "../../../bin/gone": (_script(dest.root), 0o755),
    })  # fmt: skip
    (dest.site_packages / "gone" / "__pycache__").mkdir()
    (dest.site_packages / "gone" / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"")
    (dest.site_packages / "keep.pth").write_text("not ours\n")
    report = mirror(source, dest)
    assert report.removed == ["gone"] and report.files_removed == 5  # 3 listed + METADATA + RECORD
    assert sorted(p.name for p in dest.site_packages.iterdir()) == ["keep.pth"]
    assert list((dest.root / "bin").iterdir()) == []


def test_shebangs_move_between_envs(tmp_path: Path) -> None:
    old, new = tmp_path / "shadow", tmp_path / "env"
    assert retarget_shebang(b"#!/usr/bin/python3\nx\n", old, new) is None
    assert retarget_shebang(b"plain", old, new) is None
    assert retarget_shebang(f"#!{old}/bin/python -E\nx\n".encode(), old, new) == (
        f"#!{new}/bin/python -E\nx\n".encode()
    )
    long_root = tmp_path / ("deep" * 40)
    moved = retarget_shebang(f"#!{old}/bin/python\nx\n".encode(), old, long_root)
    assert (
        moved == f"#!/bin/sh\n'''exec' '{long_root}/bin/python' \"$0\" \"$@\"\n' '''\nx\n".encode()
    )
    back = retarget_shebang(moved, long_root, old)
    assert back == f"#!{old}/bin/python\nx\n".encode()


def test_a_long_shebang_script_runs(tmp_path: Path) -> None:
    """The /bin/sh form for a python path longer than the kernel's #! limit really runs."""
    long_dir = tmp_path / ("d" * 60) / ("e" * 60) / "bin"
    long_dir.mkdir(parents=True)
    (long_dir / "python").symlink_to(sys.executable)
    source = f"#!{tmp_path}/short/bin/python\nimport sys\nprint(sys.argv[1])\n".encode()
    data = retarget_shebang(source, tmp_path / "short", long_dir.parent)
    assert data is not None and data.startswith(b"#!/bin/sh\n")
    script = tmp_path / "script"
    script.write_bytes(data)
    script.chmod(0o755)
    proc = subprocess.run([str(script), "arg one"], capture_output=True, text=True)
    assert proc.stdout == "arg one\n", proc.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_scripts_are_executable_where_chmod_does_not_work(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    source.site_packages.mkdir(parents=True)
    dest.site_packages.mkdir(parents=True)
    script = f"#!{source.root}/bin/python\n".encode() + b"print('ran')\n"
    _install(source, "tool", "1.0", {"../../../bin/tool": (script, 0o755)})
    mirror(source, dest)
    installed = dest.root / "bin" / "tool"
    assert os.access(installed, os.X_OK)
    assert installed.read_bytes().startswith(f"#!{dest.root}/bin/python\n".encode())


@pytest.mark.parametrize("claimant", ["alpha", "zulu"])
def test_a_module_moving_between_distributions_is_kept(
    envs: tuple[EnvTree, EnvTree], claimant: str
) -> None:
    """shared/x.py belongs to `other` 1.0 and to `claimant` 2.0: upgrading both at once keeps
    it, whichever of the two is mirrored first."""
    source, dest = envs
    other = "mike"
    _install(dest, claimant, "1.0", {f"{claimant}.py": (b"1", 0o644)})
    _install(dest, other, "1.0", {"shared/x.py": (b"old", 0o644)})
    _install(
        source, claimant, "2.0", {f"{claimant}.py": (b"2", 0o644), "shared/x.py": (b"new", 0o644)}
    )
    _install(source, other, "2.0", {f"{other}.py": (b"2", 0o644)})
    report = mirror(source, dest)
    assert sorted(report.updated) == sorted([claimant, other])
    assert (dest.site_packages / "shared" / "x.py").read_bytes() == b"new"


def test_a_module_of_a_removed_distribution_taken_by_another_is_kept(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    source, dest = envs
    _install(dest, "gone", "1.0", {"shared/x.py": (b"old", 0o644)})
    _install(source, "taker", "1.0", {"shared/x.py": (b"new", 0o644)})
    report = mirror(source, dest)
    assert report.removed == ["gone"] and report.added == ["taker"]
    assert (dest.site_packages / "shared" / "x.py").read_bytes() == b"new"


def test_again_copies_what_is_unchanged_in_its_record(envs: tuple[EnvTree, EnvTree]) -> None:
    """uv's --reinstall puts back a file lost from the env: the mirror copies it again."""
    source, dest = envs
    _install(source, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    _install(source, "other", "1.0", {"other.py": (b"o", 0o644)})
    mirror(source, dest)
    (dest.site_packages / "tool" / "__init__.py").unlink()
    (dest.site_packages / "other.py").unlink()
    assert not mirror(source, dest).changed  # RECORDs alike: nothing to see
    assert mirror(source, dest, again={"tool"}).updated == ["tool"]
    assert (dest.site_packages / "tool" / "__init__.py").read_bytes() == b"v1"
    assert not (dest.site_packages / "other.py").exists()
    assert sorted(mirror(source, dest, again=True).updated) == ["other", "tool"]
    assert (dest.site_packages / "other.py").read_bytes() == b"o"


def test_a_file_that_cannot_be_placed_is_one_error_naming_it(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """Not a name the filesystem refuses (here a directory in the way; an I/O error, a full
    disk): the mirror stops, no package is taken back as refused, and its journal lets the
    next mirror finish."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.project.mirror import NotPlaced

    source, dest = envs
    journal = tmp_path / "journal"
    _install(source, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    (dest.site_packages / "tool" / "__init__.py").mkdir(parents=True)  # in the way
    with pytest.raises(AnyvenvError) as info:
        mirror(source, dest, journal=journal)
    assert not isinstance(info.value, NotPlaced)
    assert journal.exists()
    assert info.value.message.startswith(  # (not a name refused: the mirror stops there)
        f"cannot place {dest.site_packages / 'tool' / '__init__.py'}: "
    )
    assert not (dest.site_packages / "tool-1.0.dist-info" / "RECORD").exists()  # redone next time
    assert sorted(os.listdir(dest.site_packages / "tool")) == ["__init__.py"]  # no temp file
    (dest.site_packages / "tool" / "__init__.py").rmdir()
    assert mirror(source, dest, journal=journal).added == ["tool"]
    assert not journal.exists()


@pytest.mark.parametrize("lab_kind", ["fat", "exfat"])
def test_a_directory_renamed_only_by_case_takes_its_new_name(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """``Caser/`` in 1.0, ``caser/`` in 2.0: on a case-insensitive filesystem the emptied old
    directory must be gone before the new files are written, or they land in it."""
    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    _install(dest, "caseren", "1.0", {"Caser/__init__.py": (b"V = 1\n", 0o644)})
    _install(source, "caseren", "2.0", {"caser/__init__.py": (b"V = 2\n", 0o644)})
    assert mirror(source, dest).updated == ["caseren"]
    assert "caser" in os.listdir(dest.site_packages)
    assert "Caser" not in os.listdir(dest.site_packages)


@pytest.mark.parametrize("lab_kind", ["fat", "exfat", "local"])
def test_a_file_of_another_package_in_another_case_is_kept(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """mova 1.0 had ``sharedpk/Util.py`` and the script ``bin/Tool``; movb, unchanged, has
    ``sharedpk/util.py`` and ``bin/tool``: where case does not tell them apart they are one
    file each, which mova 2.0 dropping its own must not take away, and which held mova's
    bytes (written last): movb's are put back. Where case is told apart, mova's go."""
    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    movb = {
        "sharedpk/util.py": (b"B = 'movb, longer'\n", 0o644),
        "../../../bin/tool": (b"#!/bin/sh\necho movb tool\n", 0o755),
    }
    _install(dest, "movb", "2.0", movb)
    if lab_kind != "local":  # (one file each, which mova's install wrote last: fusefat
        for relative in movb:  # corrupts a file written again in place, so made anew)
            os.unlink(dest.site_packages / relative)
    _install(dest, "mova", "1.0", {
        "sharedpk/Util.py": (b"a", 0o644),
        "../../../bin/Tool": (b"#!/bin/sh\necho mova\n", 0o755),
    })  # fmt: skip
    _install(source, "mova", "2.0", {"mova.py": (b"2", 0o644)})
    _install(source, "movb", "2.0", movb)
    report = mirror(source, dest)
    assert (dest.site_packages / "sharedpk" / "util.py").read_bytes() == b"B = 'movb, longer'\n"
    ran = subprocess.run([dest.root / "bin" / "tool"], capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, "movb tool\n"), ran.stderr
    assert "tool" in os.listdir(dest.root / "bin")  # (its own spelling, not mova's)
    assert os.listdir(dest.site_packages / "sharedpk") == ["util.py"]
    assert report.updated == (["mova"] if lab_kind == "local" else ["mova", "movb"])
    assert not mirror(source, dest).changed


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_package_the_filesystem_refuses_is_taken_back_and_the_others_placed(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """FAT refuses ``a:b.txt``: that package is not left half-made, and the packages mirrored
    after it (in name order) are still placed."""
    from anyvenv.project.mirror import NotPlaced

    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    _install(dest, "zeta", "1.0", {"zeta.py": (b"1", 0o644)})
    _install(source, "zeta", "2.0", {"zeta.py": (b"2", 0o644)})
    _install(
        source, "colon", "1.0", {"colon/__init__.py": (b"", 0o644), "colon/a:b.txt": (b"x", 0o644)}
    )
    with pytest.raises(NotPlaced) as info:
        mirror(source, dest)
    assert list(info.value.refused) == ["colon"]
    assert info.value.message.startswith("colon could not be installed: cannot place ")
    assert info.value.report.updated == ["zeta"]
    assert (dest.site_packages / "zeta.py").read_bytes() == b"2"
    assert (dest.site_packages / "zeta-2.0.dist-info" / "RECORD").exists()
    assert not [name for name in os.listdir(dest.site_packages) if name.startswith("colon")]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_package_with_a_path_too_long_there_is_taken_back_saying_to_use_a_shorter_path(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """An env 4000 bytes deep: a file of one package passes PATH_MAX (its name fits). That
    package is taken back, the others are placed, and the fix is a shorter path for the env,
    not a filesystem that can hold that name."""
    from anyvenv.project.mirror import NotPlaced

    root = target
    while len(os.fsencode(root / SITE)) + 201 < 4000:
        root /= "d" * 200
    root /= "e" * (4000 - len(os.fsencode(root / SITE)) - 1)
    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(root, SITE)
    assert len(os.fsencode(dest.site_packages)) == 4000
    _install(dest, "zeta", "1.0", {"zeta.py": (b"1", 0o644)})
    _install(source, "zeta", "2.0", {"zeta.py": (b"2", 0o644)})
    deep = f"deep/{'m' * 100}.py"
    _install(source, "deep", "1.0", {"deep/__init__.py": (b"", 0o644), deep: (b"x", 0o644)})
    with pytest.raises(NotPlaced) as info:
        mirror(source, dest)
    assert list(info.value.refused) == ["deep"]
    assert info.value.one_line() == (
        f"deep could not be installed: cannot place {dest.site_packages / deep}: its path is "
        "too long (4109 bytes; the limit there is 4096); the path of a file of it is too long "
        "there; the other packages were installed: leave out deep, or use a shorter path for "
        "the environment"
    )
    assert info.value.report.updated == ["zeta"]
    assert (dest.site_packages / "zeta.py").read_bytes() == b"2"
    assert sorted(os.listdir(dest.site_packages)) == ["zeta-2.0.dist-info", "zeta.py"]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_refused_package_takes_back_no_file_another_package_lists(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """sharedb shares ``nspkg/__init__.py`` with shareda (an old-style namespace package) and
    holds a name FAT refuses: its take-back leaves shareda's files, and so does its removal
    from the shadow."""
    from anyvenv.project.mirror import NotPlaced, remove_distributions

    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    shareda = {"nspkg/__init__.py": (b"", 0o644), "nspkg/a.py": (b"A", 0o644)}
    _install(dest, "shareda", "1.0", shareda)
    _install(source, "shareda", "1.0", shareda)
    _install(source, "sharedb", "1.0", {
        "nspkg/__init__.py": (b"", 0o644), "nspkg/b.py": (b"B", 0o644),
        "nspkg/b\u00e9.py": (b"B", 0o644),
    })  # fmt: skip
    with pytest.raises(NotPlaced):
        mirror(source, dest)
    assert sorted(os.listdir(dest.site_packages / "nspkg")) == ["__init__.py", "a.py"]
    remove_distributions(source, ["sharedb"])
    assert sorted(os.listdir(source.site_packages / "nspkg")) == ["__init__.py", "a.py"]


def test_a_package_whose_record_lists_a_missing_file_is_copied_without_it(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    """pip records the .pyc files it compiles; removed since (a cleaned __pycache__), they
    are not there to copy: the copy lacks them too, and nothing stops."""
    source, dest = envs
    _install(source, "tool", "1.0", {
        "tool/__init__.py": (b"v1", 0o644), "tool/__pycache__/__init__.cpython-312.pyc": (b"c", 0o644),
    })  # fmt: skip
    (source.site_packages / "tool" / "__pycache__" / "__init__.cpython-312.pyc").unlink()
    assert mirror(source, dest).added == ["tool"]
    assert (dest.site_packages / "tool" / "__init__.py").read_bytes() == b"v1"


def test_complete_only_neither_copies_nor_removes_a_half_made_package(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    """An env's package that an install left half-made (no RECORD) is not taken into its
    shadow, nor is the shadow's own copy of it removed."""
    env, shadow = envs
    _install(env, "half", "2.0", {"half.py": (b"2", 0o644)})
    (env.site_packages / "half-2.0.dist-info" / "RECORD").unlink()
    _install(shadow, "half", "1.0", {"half.py": (b"1", 0o644)})
    _install(env, "whole", "1.0", {"whole.py": (b"w", 0o644)})
    report = mirror(env, shadow, complete_only=True)
    assert (report.added, report.removed, report.updated) == (["whole"], [], [])
    assert (shadow.site_packages / "half.py").read_bytes() == b"1"


def test_a_journal_left_behind_clears_the_temp_files_of_its_dead_run(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """Killed while a file was rewritten (written beside it under a temp name first): the
    next mirror clears that temp file, though it writes nothing there (the package went)."""
    from anyvenv.fs.leftovers import TEMP_MARK, this_host
    from anyvenv.project.mirror import write_journal

    source, dest = envs
    _install(dest, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    dead = dest.site_packages / "tool" / f".__init__.py{TEMP_MARK}{this_host()}-999999-abcdef"
    dead.write_bytes(b"half")
    journal = tmp_path / "journal"
    write_journal(journal, {}, {"tool": [f"{SITE}/tool/__init__.py"]})
    assert mirror(source, dest, journal=journal).removed == ["tool"]
    assert not (dest.site_packages / "tool").exists()


def test_a_journal_never_removes_what_lies_outside_the_env(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """A journal another user wrote (the env's directory is a group's, or a shadow made
    under umask 000) naming files outside the env, by an absolute path or by ``..``: the
    mirror removes none of them."""
    from anyvenv.project.mirror import read_journal, write_journal

    source, dest = envs
    victim = tmp_path / "victim"
    victim.mkdir()
    for name in ("a.txt", "b.txt"):
        (victim / name).write_text("the user's\n")
    (victim / "c.txt").write_text("the user's\n")
    outside = [
        os.fspath(victim / "a.txt"),
        os.path.relpath(victim / "b.txt", dest.root),
        "lib/../" + os.path.relpath(victim / "c.txt", dest.root),  # (down, then up)
    ]
    journal = tmp_path / "journal"
    write_journal(journal, {}, {"zzz": [*outside, f"{SITE}/zzz.py"]})
    assert read_journal(journal) == {"zzz": [f"{SITE}/zzz.py"]}
    mirror(source, dest, journal=journal)
    assert sorted(os.listdir(victim)) == ["a.txt", "b.txt", "c.txt"]


def test_a_record_never_removes_what_lies_outside_the_env(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """A distribution in the env whose RECORD lists a file outside it (by ``..``, or an
    absolute path) is removed without that file."""
    source, dest = envs
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's\n")
    _install(dest, "gone", "1.0", {"gone.py": (b"g", 0o644)})
    record = dest.site_packages / "gone-1.0.dist-info" / "RECORD"
    up = os.path.relpath(victim, dest.site_packages)
    record.write_text(record.read_text() + f"{up},,\n{victim},,\n")
    assert mirror(source, dest).removed == ["gone"]
    assert victim.read_text() == "the user's\n"
    assert not (dest.site_packages / "gone.py").exists()


def test_a_journal_rewritten_keeps_the_files_of_the_run_it_follows(tmp_path: Path) -> None:
    """Killed twice: the second journal names the first run's files of a distribution as
    well as its own (another version's), so the next mirror clears both."""
    from anyvenv.project.mirror import read_journal, write_journal

    journal = tmp_path / "journal"
    write_journal(journal, {}, {"tool": [f"{SITE}/tool/v1.py"], "other": [f"{SITE}/other.py"]})
    write_journal(journal, read_journal(journal), {"tool": [f"{SITE}/tool/v2.py"]})
    assert read_journal(journal) == {
        "tool": [f"{SITE}/tool/v1.py", f"{SITE}/tool/v2.py"],
        "other": [f"{SITE}/other.py"],
    }


def test_a_done_list_speaks_only_for_the_journal_it_was_kept_for(tmp_path: Path) -> None:
    """A done list left beside a journal it was not kept for (an earlier release removed
    only its own journal; a kill between the journal's two unlinks): the distributions the
    journal names are still unfinished."""
    import marshal

    from anyvenv.project.mirror import _done_list, _mark_done, read_journal, write_journal

    journal = tmp_path / "journal"
    first = write_journal(journal, {}, {"delta": ["lib/delta.py"], "gamma": ["lib/gamma.py"]})
    _mark_done(journal, first, "delta")
    assert set(read_journal(journal)) == {"gamma"}
    left = _done_list(journal).read_bytes()
    second = write_journal(journal, {}, {"delta": ["lib/delta.py"]})  # (clears its list)
    assert second != first
    _done_list(journal).write_bytes(left)  # another journal's list
    assert set(read_journal(journal)) == {"delta"}
    _done_list(journal).write_text("delta\n")  # an earlier release's, names alone
    assert set(read_journal(journal)) == {"delta"}
    # an earlier release's journal (no token) with that list: nothing is taken as done
    journal.write_bytes(marshal.dumps({"delta": ["lib/delta.py"]}))
    assert set(read_journal(journal)) == {"delta"}


def test_adopt_added_takes_only_complete_packages_of_projects_it_lacks(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    """What a shadow takes from an env that may be half-made: a package installed by hand
    (complete: its RECORD is there), nothing half-copied, nothing it has in another version."""
    from anyvenv.project.mirror import adopt_added

    shadow, env = envs
    _install(shadow, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    _install(env, "tool", "2.0", {"tool/__init__.py": (b"v2", 0o644)})
    _install(env, "extra", "1.0", {"extra.py": (b"x", 0o644)})
    _install(env, "half", "1.0", {"half.py": (b"h", 0o644)})
    (env.site_packages / "half-1.0.dist-info" / "RECORD").unlink()  # a killed copy's
    # plain uv where chmod fails: an empty RECORD made first, then nothing (no METADATA)
    _install(env, "failed", "1.0", {"failed.py": (b"f", 0o644)})
    (env.site_packages / "failed-1.0.dist-info" / "RECORD").write_bytes(b"")
    _install(env, "nometa", "1.0", {"nometa.py": (b"n", 0o644)})
    (env.site_packages / "nometa-1.0.dist-info" / "METADATA").unlink()
    assert adopt_added(env, shadow) == ["extra"]
    assert not (shadow.site_packages / "failed-1.0.dist-info").exists()
    assert not (shadow.site_packages / "nometa-1.0.dist-info").exists()
    assert (shadow.site_packages / "extra.py").read_bytes() == b"x"
    assert (shadow.site_packages / "extra-1.0.dist-info" / "RECORD").is_file()
    assert not (shadow.site_packages / "half.py").exists()
    assert (shadow.site_packages / "tool" / "__init__.py").read_bytes() == b"v1"
    assert adopt_added(env, shadow) == []  # taken once


class _Killed(Exception):
    """Stands for a SIGKILL in the middle of a copy (the journal stays behind, as then)."""


def test_after_a_kill_only_what_was_not_placed_whole_is_copied_again(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """A big env killed late in its copy: the distributions already placed whole (their
    RECORD written) are not copied all over again; the one being copied, and those not yet
    begun, are."""
    source, dest = envs
    for name in ("aaa", "bbb", "ccc"):
        _install(source, name, "1.0", {f"{name}/{n}.py": (b"x", 0o644) for n in range(4)})
    journal = tmp_path / "journal"

    with pytest.raises(_Killed):  # after aaa's 6 files, and 2 of bbb's
        mirror(source, dest, kill_after(8), journal=journal)
    assert journal.exists()
    report = mirror(source, dest, journal=journal)
    assert report.added == ["bbb", "ccc"] and report.files_written == 12, report
    assert not journal.exists() and not list(tmp_path.glob("journal*"))
    assert not mirror(source, dest).changed
    # a mirror killed once aaa was done, then one that places aaa again (a reinstall: its
    # RECORD the same) killed before aaa is done: the first run's word that aaa was done no
    # longer holds, and the next mirror copies aaa again
    with pytest.raises(_Killed):
        mirror(source, dest, kill_after(7), again=True, journal=journal)
    (dest.site_packages / "aaa" / "1.py").write_bytes(b"half-copied")
    with pytest.raises(_Killed):
        mirror(source, dest, kill_after(1), again=["aaa"], journal=journal)
    assert "aaa" in mirror(source, dest, journal=journal).updated
    assert (dest.site_packages / "aaa" / "1.py").read_bytes() == b"x"


def kill_after(files: int) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done == files:
            raise _Killed

    return progress


def test_a_file_two_new_distributions_list_is_the_later_ones(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    """Both new, in a directory the mirror makes: the second is written over the first (a
    namespace package's ``__init__.py`` that two distributions ship)."""
    source, dest = envs
    _install(source, "one", "1.0", {"ns/__init__.py": (b"one", 0o644)})
    _install(source, "two", "1.0", {"ns/__init__.py": (b"two", 0o644)})
    report = mirror(source, dest)
    assert report.added == ["one", "two"]
    assert (dest.site_packages / "ns" / "__init__.py").read_bytes() == b"two"


def test_a_deep_tree_removed_leaves_no_directory(envs: tuple[EnvTree, EnvTree]) -> None:
    """Every directory a removed distribution emptied goes, deepest first, parents after
    (a package of thousands of directories), and a directory another one still uses stays."""
    source, dest = envs
    files = {f"deep/{a}/{b}/{c}/m.py": (b"", 0o644) for a in "xy" for b in "pq" for c in "uv"}
    _install(dest, "deep", "1.0", files)
    _install(dest, "other", "1.0", {"deep/x/p/keep.py": (b"", 0o644)})
    (dest.site_packages / "deep" / "y" / "q" / "v" / "__pycache__").mkdir()
    (dest.site_packages / "deep" / "y" / "q" / "v" / "__pycache__" / "m.cpython-312.pyc").touch()
    _install(source, "other", "1.0", {"deep/x/p/keep.py": (b"", 0o644)})
    mirror(source, dest)
    left = sorted(
        str(p.relative_to(dest.site_packages)) for p in (dest.site_packages / "deep").rglob("*")
    )
    assert left == ["deep/x", "deep/x/p", "deep/x/p/keep.py"]


def test_a_rewrite_clears_dead_temp_files_beside_it_without_a_journal(
    envs: tuple[EnvTree, EnvTree],
) -> None:
    """A killed run's temp file beside a file that is now rewritten goes, also where no
    journal names it (a shadow taking an env's packages, a mirror run without one)."""
    from anyvenv.fs.leftovers import TEMP_MARK, this_host

    source, dest = envs
    _install(dest, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    dead = dest.site_packages / "tool" / f".__init__.py{TEMP_MARK}{this_host()}-999999-abcdef"
    dead.write_bytes(b"half")
    _install(source, "tool", "2.0", {"tool/__init__.py": (b"v2", 0o644)})
    assert mirror(source, dest).updated == ["tool"]
    assert sorted(p.name for p in (dest.site_packages / "tool").iterdir()) == ["__init__.py"]


def test_bytecode_of_a_directory_still_in_use_stays(envs: tuple[EnvTree, EnvTree]) -> None:
    """A removed module's directory that still holds another's files keeps its __pycache__
    (only a directory left with nothing but a __pycache__ of no source goes)."""
    source, dest = envs
    _install(dest, "gone", "1.0", {"shared/gone.py": (b"", 0o644)})
    _install(dest, "kept", "1.0", {"shared/kept.py": (b"", 0o644)})
    _install(source, "kept", "1.0", {"shared/kept.py": (b"", 0o644)})
    cache = dest.site_packages / "shared" / "__pycache__"
    cache.mkdir()
    (cache / "kept.cpython-312.pyc").touch()
    (cache / "gone.cpython-312.pyc").touch()
    assert mirror(source, dest).removed == ["gone"]
    assert sorted(p.name for p in cache.iterdir()) == ["kept.cpython-312.pyc"]


# -- many files: placed several at once --------------------------------------------------------


def _many(tree: EnvTree, names: tuple[str, ...], each: int) -> None:
    """Distributions of ``each`` modules apiece (enough files for the mirror's thread pool)."""
    for name in names:
        _install(tree, name, "1.0", {f"{name}/m{n}.py": (f"{name}{n}".encode(), 0o644) for n in range(each)})  # fmt: skip


def _complete_or_unrecorded(source: EnvTree, dest: EnvTree) -> list[str]:
    """The distributions of ``dest`` that have their RECORD; each must have every file of
    its source's RECORD already (the RECORD is written last)."""
    recorded = []
    for record in sorted(dest.site_packages.glob("*.dist-info/RECORD")):
        for line in record.read_text().splitlines():
            relative = line.split(",")[0]
            assert (dest.site_packages / relative).is_file(), (record, relative)
            assert (dest.site_packages / relative).read_bytes() == (
                source.site_packages / relative
            ).read_bytes()
        recorded.append(record.parent.name)
    return recorded


@pytest.fixture
def share_envs(target: Path, tmp_path: Path) -> tuple[EnvTree, EnvTree]:
    """A source on local disk, a destination on a mount of ``lab_kind`` (a share)."""
    return _made_envs(tmp_path / "shadow", target / "env")


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "sshfs"])
def test_many_files_are_placed_at_once_each_record_after_its_files(
    lab_kind: str, share_envs: tuple[EnvTree, EnvTree]
) -> None:
    """A big install on a share waits on the server per file: the files are placed several
    at once. Whenever a RECORD is there, every other file of its distribution is too."""
    import threading

    source, dest = share_envs
    _many(source, ("aaa", "bbb", "ccc", "ddd"), 20)
    only_record = source.site_packages / "bare-1.0.dist-info"  # (no other file: placed first)
    only_record.mkdir()
    (only_record / "RECORD").write_text("bare-1.0.dist-info/RECORD,,\n")
    threads_seen: set[str] = set()
    told: list[int] = []

    def progress(done: int, total: int) -> None:
        told.append(done)
        threads_seen.update(t.name for t in threading.enumerate())
        _complete_or_unrecorded(source, dest)

    report = mirror(source, dest, progress)
    assert report.added == ["aaa", "bare", "bbb", "ccc", "ddd"]
    assert report.files_written == 4 * 22 + 1
    assert told == list(range(1, 4 * 22 + 2))  # (counted in this thread, one by one)
    assert any(name.startswith("anyvenv-mirror") for name in threads_seen), threads_seen
    assert len(_complete_or_unrecorded(source, dest)) == 5
    assert not [t for t in threading.enumerate() if t.name.startswith("anyvenv-mirror")]
    assert not mirror(source, dest).changed


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_many_files_stopped_half_way_are_finished_by_the_next_mirror(
    lab_kind: str, share_envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """Stopped while several copies are under way: those end first (no thread is left), no
    distribution has its RECORD without all its files, and the next mirror places the rest."""
    import threading

    source, dest = share_envs
    _many(source, ("aaa", "bbb", "ccc"), 30)
    journal = tmp_path / "journal"
    with pytest.raises(_Killed):
        mirror(source, dest, kill_after(40), journal=journal)
    assert not [t for t in threading.enumerate() if t.name.startswith("anyvenv-mirror")]
    assert journal.exists()
    assert len(_complete_or_unrecorded(source, dest)) < 3
    report = mirror(source, dest, journal=journal)
    assert report.changed and not journal.exists()
    assert len(_complete_or_unrecorded(source, dest)) == 3
    assert not [p for p in dest.root.rglob("*") if ".anyvenv-tmp" in p.name or "tmp-" in p.name]
    assert not mirror(source, dest).changed


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_many_files_one_not_placed_stops_them_all_naming_it(
    lab_kind: str, share_envs: tuple[EnvTree, EnvTree], tmp_path: Path
) -> None:
    """An I/O error (here a directory in the way) among copies under way: the mirror stops
    with one error naming the file, no RECORD of that distribution is written, and the next
    mirror finishes once the cause is gone."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.project.mirror import NotPlaced

    source, dest = share_envs
    _many(source, ("aaa", "bbb"), 30)
    blocker = dest.site_packages / "bbb" / "m7.py"
    blocker.mkdir(parents=True)
    journal = tmp_path / "journal"
    with pytest.raises(AnyvenvError) as info:
        mirror(source, dest, journal=journal)
    assert not isinstance(info.value, NotPlaced)
    assert info.value.message.startswith(f"cannot place {blocker}: ")
    assert "bbb-1.0.dist-info" not in _complete_or_unrecorded(source, dest)
    blocker.rmdir()
    finished = mirror(source, dest, journal=journal)  # (its METADATA may be there already)
    assert "bbb" in finished.added + finished.updated
    assert len(_complete_or_unrecorded(source, dest)) == 2


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_many_files_a_refused_name_takes_back_only_its_package(
    lab_kind: str, target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAT refuses ``a:b.txt`` among copies under way: that package is taken back whole
    once its copies under way are done; the others are placed. (FAT is a local device,
    placed one file at a time: here several at once all the same, as on a share.)"""
    import anyvenv.project.mirror as mirror_module
    from anyvenv.project.mirror import NotPlaced

    monkeypatch.setattr(mirror_module, "_worth_copies_at_once", lambda dest, total: True)

    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    dest.site_packages.mkdir(parents=True)
    _many(source, ("aaa", "zzz"), 25)
    files = {f"colon/m{n}.py": (b"", 0o644) for n in range(40)}  # (more than go at once)
    _install(source, "colon", "1.0", {"colon/a:b.txt": (b"x", 0o644), **files})  # (refused first)
    with pytest.raises(NotPlaced) as info:
        mirror(source, dest)
    assert list(info.value.refused) == ["colon"]
    assert sorted(info.value.report.added) == ["aaa", "zzz"]
    assert sorted(_complete_or_unrecorded(source, dest)) == ["aaa-1.0.dist-info", "zzz-1.0.dist-info"]  # fmt: skip
    assert not [name for name in os.listdir(dest.site_packages) if name.startswith("colon")]


@pytest.mark.parametrize(
    ("lab_kind", "at_once"),
    [("sshfs", True), ("faultfs:cifs-like", True), ("local", False), ("fat", False),
     ("exfat", False)],
)  # fmt: skip
def test_files_are_placed_at_once_only_where_calls_wait_on_a_server(
    lab_kind: str, at_once: bool, target: Path
) -> None:
    """Several at once where each call waits on a server or FUSE daemon of its own; one
    after another on local disk and local devices, where the threads only cost (20,000
    small files on tmpfs: 4.7 s against 0.9 s)."""
    from anyvenv.project.mirror import _PARALLEL_FROM, _worth_copies_at_once

    tree = EnvTree.of(target, SITE)
    assert _worth_copies_at_once(tree, _PARALLEL_FROM) is at_once
    assert not _worth_copies_at_once(tree, _PARALLEL_FROM - 1)


def _holder_of(path: Path) -> subprocess.Popen[str]:
    """A process that holds ``path`` open until its stdin closes."""
    holding = "import sys; f = open(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", holding, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_where_files_in_use_stay_one_held_stops_the_mirror_before_any_change(
    envs: tuple[EnvTree, EnvTree], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a file held open cannot be replaced or removed (SMB through libsmbclient: here
    told so), a file the upgrade would remove that a process holds stops the mirror before
    it changes anything, naming the process; a held file of a package left as it is stops
    nothing."""
    from repair_support import fingerprint

    import anyvenv.project.mirror as mirror_module
    from anyvenv.errors import AnyvenvError

    monkeypatch.setattr(mirror_module, "_open_files_stay", lambda dest: True, raising=False)
    source, dest = envs
    journal = tmp_path / "journal"
    _install(dest, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644), "tool/old.py": (b"", 0o644)})
    _install(dest, "other", "1.0", {"other.py": (b"o1", 0o644)})
    _install(source, "tool", "2.0", {"tool/__init__.py": (b"v2", 0o644)})
    _install(source, "other", "1.0", {"other.py": (b"o1", 0o644)})
    _install(source, "new", "1.0", {"new.py": (b"n1", 0o644)})
    before = fingerprint(dest.root)
    holder = _holder_of(dest.site_packages / "tool" / "old.py")
    try:
        with pytest.raises(AnyvenvError) as info:
            mirror(source, dest, journal=journal)
        assert (
            info.value.message
            == f"cannot replace or remove tool in {dest.root}: nothing was changed"
        )
        assert f"(process {holder.pid}) runs from the environment's packages" in str(
            info.value.hint
        )
        assert fingerprint(dest.root) == before
        assert not journal.exists()
    finally:
        holder.communicate("")
    holder = _holder_of(dest.site_packages / "other.py")  # (left as it is)
    try:
        report = mirror(source, dest, journal=journal)
    finally:
        holder.communicate("")
    assert (report.added, report.updated) == (["new"], ["tool"])
    assert not (dest.site_packages / "tool" / "old.py").exists()


def test_a_file_in_use_that_cannot_be_replaced_names_its_holder(
    envs: tuple[EnvTree, EnvTree], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the mirror meets held open (EBUSY) though no check foresaw it (a program that
    began after it; here the filesystem seemed to allow it) is named with the program of
    this host that holds it."""
    from anyvenv.errors import AnyvenvError

    source, dest = envs
    _install(dest, "tool", "1.0", {"tool/__init__.py": (b"v1", 0o644)})
    _install(source, "tool", "2.0", {"tool/__init__.py": (b"v2", 0o644)})
    held = dest.site_packages / "tool" / "__init__.py"
    replace = os.replace

    def refused(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == held:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(dst))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", refused)
    holder = _holder_of(held)
    try:
        with pytest.raises(AnyvenvError) as info:
            mirror(source, dest)
    finally:
        holder.communicate("")
    assert info.value.message.startswith(f"cannot place {held}: ")
    assert "(EBUSY)" in info.value.message
    assert f"(process {holder.pid}) runs from the environment's packages" in str(info.value.hint)


def test_a_script_of_a_gone_env_with_a_long_header_is_retargeted() -> None:
    """A console script whose ``/bin/sh`` header names the python of an env that is gone, at
    a path long with quotes (each written as five bytes): read whole (it was read within
    4096 bytes, taken for a plain sh script, and kept naming the gone env)."""
    from anyvenv.envbuild.shebang import parse_shebang, render_header
    from anyvenv.project.mirror import _for_dest

    gone = "/gone/" + "q'" * 1000 + "/bin/python"
    data = render_header(gone) + b"import sys\n"
    assert len(data) > 4096
    moved = _for_dest(data, Path("/shadow"), Path("/project/.venv"))
    assert moved is not None
    found = parse_shebang(moved)
    assert found is not None and found.interpreter == "/project/.venv/bin/python"


@pytest.mark.parametrize("lab_kind", ["smb"])
@pytest.mark.parametrize("name", ["a:b.txt", "q?x.txt", "trail.", "star*/m.py"])
def test_a_name_smbnetfs_would_take_wrongly_takes_back_its_package_before_the_share_is_asked(
    target: Path, tmp_path: Path, name: str
) -> None:
    """smbnetfs (libsmbclient) takes some names wrongly rather than refusing them: ``q?x``
    made as ``q``, EIO for ``a:b`` and then for every call for some seconds, ``trail.``
    stored under a mangled name. Such a file's package is taken back before the share is
    asked for it: the others are placed, and the share goes on answering."""
    from anyvenv.project.mirror import NotPlaced

    source = EnvTree.of(tmp_path / "shadow", SITE)
    dest = EnvTree.of(target / "env", SITE)
    dest.site_packages.mkdir(parents=True)
    _many(source, ("aaa", "zzz"), 3)
    _install(source, "odd", "1.0", {"odd/__init__.py": (b"", 0o644), f"odd/{name}": (b"x", 0o644)})
    with pytest.raises(NotPlaced) as info:
        mirror(source, dest)
    assert list(info.value.refused) == ["odd"]
    assert sorted(info.value.report.added) == ["aaa", "zzz"]
    assert not [entry for entry in os.listdir(dest.site_packages) if entry.startswith("odd")]
    (target / "after").mkdir()  # (no EIO: the share was not asked for the name)

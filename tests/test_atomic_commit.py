"""atomic.commit on filesystems whose directory rename loses the directory's contents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyvenv.fs import atomic, leftovers
from lab import Lab
from support import entry_names


def _staged(target: Path, marker: str) -> Path:
    staging = Path(leftovers.staging_name(target))
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "tool").write_text(marker)
    (staging / "pyvenv.cfg").write_text(marker)
    return staging


@pytest.mark.parametrize("lab_kind", ["local", "fat", "rclone"])
def test_commit_keeps_the_files_of_the_new_tree(lab_kind: str, target: Path) -> None:
    """Readable at once: rclone cannot read a renamed directory's files until it has
    uploaded them (EIO), some 5 s later; there the tree moves file by file too."""
    destination = target / "env"
    atomic.commit(_staged(destination, "one"), destination)
    assert (destination / "bin" / "tool").read_text() == "one"
    atomic.commit(_staged(destination, "two"), destination)  # replacing an existing tree
    assert (destination / "bin" / "tool").read_text() == "two"
    assert (destination / "pyvenv.cfg").read_text() == "two"
    assert entry_names(target) == ["env"]  # no staging or retired leftovers


@pytest.mark.parametrize("lab_kind", ["local", "fat", "rclone"])
def test_directory_rename_is_measured(lab_kind: str, target: Path) -> None:
    """fusefat renames a directory entry but loses what was in it; rclone keeps it but
    cannot read it yet; local disk does both."""
    assert atomic.directory_rename_keeps_contents(target) == (lab_kind == "local")
    assert entry_names(target) == []


@pytest.mark.parametrize("lab_kind", ["rclone"])
def test_directories_are_never_renamed_on_rclone(
    lab_kind: str, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without its VFS cache (--vfs-cache-mode off) rclone now and then reads a renamed
    directory's file back (2 in 20 here, racing its upload), and a tree removed under its new
    name comes back on the remote all the same (its bug #6809): a measure that passes is
    not trusted there."""
    monkeypatch.setattr(atomic, "_rename_keeps_contents", {})
    monkeypatch.setattr(atomic, "renamed_directory_keeps_files", lambda workdir: True)
    assert not atomic.directory_rename_keeps_contents(target)


@pytest.mark.parametrize("lab_kind", ["faultfs:dir-rename-eio"])
def test_a_measure_of_directory_rename_that_fails_counts_as_no(
    lab_kind: str, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FUSE mount (not rclone) where renaming a directory fails (EIO): the measure's
    failing step counts as "no", and the commit moves the tree file by file, whole."""
    monkeypatch.setattr(atomic, "_rename_keeps_contents", {})  # (measured here, not recalled)
    assert not atomic.directory_rename_keeps_contents(target)
    assert entry_names(target) == []
    destination = target / "env"
    atomic.commit(_staged(destination, "one"), destination)
    atomic.commit(_staged(destination, "two"), destination)
    assert (destination / "bin" / "tool").read_text() == "two"
    assert (destination / "pyvenv.cfg").read_text() == "two"
    assert entry_names(target) == ["env"]


@pytest.mark.parametrize("remove", ["remove_tree_quietly", "remove_tree"])
@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_a_tree_is_removed_though_the_fuse_daemon_releases_a_file_late(
    lab_kind: str, target: Path, remove: str
) -> None:
    """A file still open when its directory is removed (the probe's exec check, killed when
    another check fails, is gone but the kernel's release has not reached the daemon yet):
    libfuse hides it as .fuse_hidden* until the release arrives, and the directory is not
    empty until then. Seen in CI: a probe directory left on a FUSE mount. (remove_tree: an
    env or staging tree whose python a killed check still held.)"""
    import os
    import threading

    scratch = target / "scratch"
    (scratch / "bin").mkdir(parents=True)
    (scratch / "plain").write_text("x")
    held = os.open(scratch / "bin" / "python", os.O_WRONLY | os.O_CREAT, 0o755)
    closer = threading.Timer(0.05, os.close, (held,))
    closer.start()
    try:
        getattr(atomic, remove)(str(scratch))
    finally:
        closer.join()
    assert entry_names(target) == []


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough", "fat", "exfat", "sshfs-noreadlink"])
def test_ctrl_c_with_a_descriptor_lost_in_the_staging_tree_still_removes_it(
    lab_kind: str, target: Path
) -> None:
    """Ctrl-C right after an ``open`` returned, before its owner held the descriptor (a copy
    into the staging tree): nothing will ever close it, and on FUSE its file (hidden as
    .fuse_hidden*) kept the staging tree until the process ended (h48: `python install`
    interrupted on cifs-like, fat, sshfs). The descriptor is let go of, on /dev/null."""
    # what must not be let go of: a deleted file outside (a lock's, a caller's), and files of
    # a sibling whose name starts as the tree's does, deleted or not
    outside = os.open(target / "lock", os.O_WRONLY | os.O_CREAT)
    os.unlink(target / "lock")
    lost = sibling = live = -1
    with pytest.raises(KeyboardInterrupt), atomic.staging_directory(target / "env") as staging:
        os.mkdir(staging + "X")
        sibling = os.open(staging + "X/gone", os.O_WRONLY | os.O_CREAT)
        os.unlink(staging + "X/gone")
        live = os.open(staging + "X/kept", os.O_WRONLY | os.O_CREAT)
        (Path(staging) / "lib").mkdir()
        lost = os.open(Path(staging) / "lib" / "libpython.so", os.O_WRONLY | os.O_CREAT)
        raise KeyboardInterrupt
    try:
        assert entry_names(target) == [os.path.basename(staging) + "X"]
        assert os.path.samestat(os.fstat(lost), os.stat(os.devnull))
        for held in (sibling, live, outside):
            assert not os.path.samestat(os.fstat(held), os.stat(os.devnull))
            os.write(held, b"still a file")
    finally:
        for fd in (lost, sibling, live, outside):
            os.close(fd)


def test_a_refusal_on_a_full_filesystem_is_not_taken_for_a_refused_name(lab: Lab) -> None:
    """A full FUSE filesystem may say EPERM, and a plain name still fits there (h46, fusefat:
    a package taken back as if its file names were refused); on a filesystem with room, a
    plain name fitting tells a refused name. (fusefat reports no sizes: not told there.)"""
    import errno

    roomy, full = lab.small_target(size_kib=4096), lab.small_target(size_kib=256)
    with pytest.raises(OSError), open(full / "filler", "wb") as filler:
        filler.write(bytes(1 << 20))
    refusal = OSError(errno.EPERM, "Operation not permitted")
    assert atomic.name_refused(str(roomy / "caf\u00e9.py"), refusal)
    assert not atomic.name_refused(str(full / "caf\u00e9.py"), refusal)


def test_a_name_every_filesystem_takes_is_never_taken_for_a_refused_one(lab: Lab) -> None:
    """fusefat reports no sizes, so a full one cannot be told by its room: EPERM for a name
    of portable characters (``blob.bin``) is something else than its name (h71: a package
    said to have a name FAT refuses, on a FAT with 500 KiB left); ``caf\u00e9.py`` and
    ``a:b.py`` are still refused names there."""
    import errno

    fat = lab.target("fat", "names")
    refusal = OSError(errno.EPERM, "Operation not permitted")
    assert not atomic.name_refused(str(fat / "blob.bin"), refusal)
    assert not atomic.name_refused(str(fat / "my_pkg-1.0.dist-info"), refusal)
    assert atomic.name_refused(str(fat / "caf\u00e9.py"), refusal)
    assert atomic.name_refused(str(fat / "a:b.py"), refusal)
    assert atomic.name_refused(str(fat / "trailing."), refusal)  # (not portable on FAT)


def test_names_up_to_name_max_get_leftovers_that_fit_and_are_found_again(
    tmp_path: Path,
) -> None:
    """A 255-byte env name: the staging and retired names beside it still fit in NAME_MAX,
    two long names that differ only at the end stay apart, and a dead run's leftovers are
    still recognised and cleared."""
    import os

    from support import run_cli

    long_a, long_b = "a" * 254 + "1", "a" * 254 + "2"
    assert leftovers.leftover_stem(long_a) != leftovers.leftover_stem(long_b)
    assert leftovers.leftover_stem(".venv") == "..venv"
    for name in (long_a, "é" * 127):  # bytes, not characters, are what must fit
        made = run_cli("venv", "-q", str(tmp_path / name))
        assert made.returncode == 0, made.stderr
        again = run_cli("venv", "-q", "--clear", str(tmp_path / name))
        assert again.returncode == 0, again.stderr
        assert len(os.fsencode(os.path.basename(leftovers.staging_name(tmp_path / name)))) <= 255
        for mark in (leftovers.STAGING_MARK, leftovers.RETIRED_MARK, leftovers.REMOVING_MARK,
                     leftovers.TEMP_MARK):  # fmt: skip
            longest = leftovers.leftover_stem(name) + mark + "h" * leftovers.LONGEST_TAG
            assert len(os.fsencode(longest)) <= 255, mark  # (HOST-PID-RAND at its longest)
    dead = tmp_path / (
        leftovers.leftover_stem(long_b)
        + leftovers.STAGING_MARK
        + f"{leftovers.this_host()}-999999999-abcdef"
    )
    dead.mkdir()
    assert [item.path for item in leftovers.leftovers_of(tmp_path / long_b)] == [str(dead)]
    assert leftovers.leftovers_of(tmp_path / long_a) == []  # another target's
    leftovers.recover(tmp_path / long_b)
    assert not dead.exists()


@pytest.mark.parametrize("replacing", [False, True], ids=["fresh", "replacing"])
def test_a_commit_file_by_file_that_fails_part_way_removes_the_target(
    replacing: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A move file by file refused part-way (a full disk): neither tree is whole in the
    target, which goes, marker and all; the error is the caller's, and so is the staging
    tree, with what it still holds."""
    import errno

    destination = tmp_path / "env"
    if replacing:
        atomic.commit_by_files(os.fspath(_staged(destination, "one")), os.fspath(destination))
        (destination / "lib").mkdir()
        (destination / "lib" / "module.py").write_text("one")
    staging = _staged(destination, "two")

    def full_after_the_first_file(name: str) -> None:
        if name == "commit:moved-file":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "checkpoint", full_after_the_first_file)
    with pytest.raises(OSError) as failed:
        atomic.commit_by_files(os.fspath(staging), os.fspath(destination))
    assert failed.value.errno == errno.ENOSPC
    assert not os.path.lexists(destination)
    assert (staging / "pyvenv.cfg").read_text() == "two"  # (moved last: still there)
    assert entry_names(tmp_path) == [staging.name]


def test_replacing_a_tree_file_by_file_keeps_the_new_and_only_the_new(tmp_path: Path) -> None:
    """What a reinstall on fusefat does: files replaced in place (``last`` after the rest),
    a file where a directory was and back, what only the old tree had removed."""
    old, new = tmp_path / "old", tmp_path / "new"
    for root, files in (
        (
            old,
            {
                "bin/python": "old",
                "lib/a.py": "old",
                "lib/gone.py": "x",
                "was_dir/f": "x",
                "f": "x",
            },
        ),
        (new, {"bin/python": "new", "lib/a.py": "new", "was_dir": "now a file", "f/inside": "y"}),
    ):
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
    atomic.replace_tree_by_files(new, old, last=("bin",))
    found = {
        str(path.relative_to(old)): path.read_text() for path in old.rglob("*") if path.is_file()
    }
    assert found == {
        "bin/python": "new", "lib/a.py": "new", "was_dir": "now a file", "f/inside": "y"
    }  # fmt: skip
    assert not new.exists()


def test_recover_leaves_what_a_live_process_is_making(tmp_path: Path) -> None:
    """A staging tree or a retired env of a run still going (this process: alive) is its own:
    recover, called by any other command, leaves both alone."""
    target = tmp_path / "env"
    staging, retired = Path(leftovers.staging_name(target)), Path(leftovers.retired_name(target))
    for path in (staging, retired):
        (path / "bin").mkdir(parents=True)
    assert leftovers.recover(target) == []
    assert staging.is_dir() and retired.is_dir() and not target.exists()


def test_ctrl_c_as_a_staging_directory_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt between the mkdir and the with block (whose exit would remove it):
    in a process that lives on (a library's host), nothing clears it later."""

    def interrupted(name: str) -> None:
        if name == "staging:made":
            raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic.staging_directory(tmp_path / "env"):
        pass
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like", "fat"])
def test_commit_keeping_keeps_the_old_tree_for_the_caller(lab_kind: str, target: Path) -> None:
    """The new tree in place, the old one kept whole under a retired name (which recover
    removes once its maker is gone, the target being there); where renaming a directory
    loses its files (fusefat) nothing is kept, as by commit."""
    old, new = target / "env", target / "staging"
    for tree, text in ((old, "old"), (new, "new")):
        (tree / "bin").mkdir(parents=True)
        (tree / "bin" / "python").write_text(text)
    kept = atomic.commit_keeping(new, old)
    assert (old / "bin" / "python").read_text() == "new" and not new.exists()
    if lab_kind == "fat":
        assert kept is None and entry_names(target) == ["env"]
        return
    assert kept is not None and (Path(kept) / "bin" / "python").read_text() == "old"
    found = leftovers.leftovers_of(old)
    assert [(item.path, item.kind) for item in found] == [(kept, "retired")]
    (target / "another").mkdir()
    assert atomic.commit_keeping(target / "another", target / "fresh") is None  # none to keep
    assert (target / "fresh").is_dir()


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("a:b", True), ("q?x", True), ('d"q', True), ("s*", True), ("l<", True), ("g>", True),
     ("p|q", True), ("b\\s", True), ("c\x01", True), ("trail.", True), ("trail ", True),
     ("plain", False), ("dots.in.name", False), ("ünï", False), (".hidden", False)],
)  # fmt: skip
def test_the_names_smbnetfs_takes_wrongly(name: str, wrong: bool) -> None:
    """One of ``\\\\:*"<>|?`` or a control character, or a trailing dot or space: the names
    smbnetfs (libsmbclient) makes wrongly or answers with EIO (see NAME_MANGLING_FSTYPES)."""
    from anyvenv.fs.atomic import name_taken_wrongly

    assert name_taken_wrongly(name) is wrong

"""The strict member filter (property-tested) and extraction by link plan on real disks."""

from __future__ import annotations

import io
import itertools
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anyvenv.fs.place import Strategy
from anyvenv.pythons.archive import (
    BrokenArchive,
    Kind,
    LinkPlan,
    UnsafeArchive,
    check_member,
    check_tree,
    extract,
    read_tree,
)

Member = tuple[str, bytes, str, int]  # name, type, linkname, mode


def tar_info(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    return info


def write_archive(path: Path, members: Iterable[Member], data: bytes | None = b"data\n") -> Path:
    """A tar.gz of ``members``; files hold ``data`` (``None``: their own name)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, link, mode in members:
            info = tar_info(name, kind, link, mode)
            if kind == tarfile.REGTYPE:
                content = name.encode("utf-8", "surrogateescape") if data is None else data
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return path


def plan(symlinks: Strategy, hardlinks: Strategy = Strategy.HARDLINK) -> LinkPlan:
    return LinkPlan(symlinks, hardlinks, case_sensitive=True, reason="test")


# -- the member filter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "link", "why"),
    [
        ("/python/bin/x", tarfile.REGTYPE, "", "absolute path"),
        ("python/../x", tarfile.REGTYPE, "", "contains '..'"),
        ("python/lib/../../x", tarfile.REGTYPE, "", "contains '..'"),
        ("other/bin/x", tarfile.REGTYPE, "", "not under the top directory"),
        ("x", tarfile.REGTYPE, "", "not under the top directory"),
        ("python/a\\..\\b", tarfile.REGTYPE, "", "backslash"),
        ("python/a\nb", tarfile.REGTYPE, "", "control character"),
        ("python/dev/null", tarfile.CHRTYPE, "", "character device"),
        ("python/dev/sda", tarfile.BLKTYPE, "", "block device"),
        ("python/fifo", tarfile.FIFOTYPE, "", "FIFO"),
        ("python/x", b"V", "", "tar type"),
        ("python/bin/evil", tarfile.SYMTYPE, "/etc/passwd", "absolute path"),
        ("python/bin/evil", tarfile.SYMTYPE, "../..", "outside the tree"),
        ("python/evil", tarfile.SYMTYPE, "..", "outside the tree"),
        ("python/bin/self", tarfile.SYMTYPE, "..", "outside the tree"),
        ("python/bin/odd", tarfile.SYMTYPE, "a/../../..", "unusual target"),
        ("python/bin/empty", tarfile.SYMTYPE, "", "empty target"),
        ("python/bin/hard", tarfile.LNKTYPE, "/etc/passwd", "absolute path"),
        ("python/bin/hard", tarfile.LNKTYPE, "python/../../etc/passwd", "contains '..'"),
        ("python/bin/hard", tarfile.LNKTYPE, "etc/passwd", "not under the top directory"),
        ("python", tarfile.REGTYPE, "", "replaces the top directory"),
    ],
)
def test_member_filter_refuses(name: str, kind: bytes, link: str, why: str) -> None:
    with pytest.raises(UnsafeArchive) as caught:
        check_member(tar_info(name, kind, link))
    assert why in caught.value.one_line()
    assert "nothing was installed" in caught.value.one_line()


def test_member_filter_accepts_the_standalone_layout() -> None:
    assert check_member(tar_info("python/", tarfile.DIRTYPE)) is None
    exe = check_member(tar_info("python/bin/python3.12", mode=0o4777))
    assert exe is not None and exe.kind is Kind.FILE and exe.path == "bin/python3.12"
    assert exe.mode == 0o775, "set-id and others' write are dropped, exec bits kept, the group"
    # may write where the umask lets it (as in uv's installs)
    private = check_member(tar_info("python/lib/private", mode=0o600))
    assert private is not None and private.mode == 0o600, "no write for a group that may not read"
    link = check_member(tar_info("python/bin/python3", tarfile.SYMTYPE, "python3.12"))
    assert link is not None and (link.kind, link.link) == (Kind.SYMLINK, "python3.12")
    up = check_member(tar_info("python/share/terminfo/x/xterm", tarfile.SYMTYPE, "../v/vt100"))
    assert up is not None and up.kind is Kind.SYMLINK
    hard = check_member(tar_info("python/lib/b", tarfile.LNKTYPE, "python/lib/a"))
    assert hard is not None and (hard.kind, hard.link) == (Kind.HARDLINK, "lib/a")
    assert check_member(tar_info("./python/./lib//x")) is not None, "harmless . and // pass"


def tree_of(*members: Member) -> None:
    checked = (check_member(tar_info(*member)) for member in members)
    check_tree(entry for entry in checked if entry is not None)


@pytest.mark.parametrize(
    ("members", "why"),
    [
        (
            [
                ("python/a/b/lnk", tarfile.SYMTYPE, "../../top", 0o777),
                ("python/a/b/x", tarfile.SYMTYPE, "lnk/../../y", 0o777),
            ],
            "unusual target",
        ),
        (
            [
                ("python/d", tarfile.SYMTYPE, "lib", 0o777),
                ("python/x", tarfile.SYMTYPE, "d/file", 0o777),
            ],
            "passes through a link",
        ),
        (
            [
                ("python/d", tarfile.SYMTYPE, "lib", 0o777),
                ("python/d/file", tarfile.REGTYPE, "", 0o644),
            ],
            "lies below the symlink",
        ),
        (
            [("python/f", tarfile.REGTYPE, "", 0o644), ("python/f", tarfile.REGTYPE, "", 0o644)],
            "appears twice",
        ),
        (
            [
                ("python/h", tarfile.LNKTYPE, "python/later", 0o644),
                ("python/later", tarfile.REGTYPE, "", 0o644),
            ],
            "no earlier file",
        ),
        (
            [
                ("python/a", tarfile.DIRTYPE, "", 0o755),
                ("python/a/b/loop", tarfile.SYMTYPE, "../../a", 0o777),
            ],
            "contains it",
        ),
        (
            [("python/p", tarfile.SYMTYPE, "q", 0o777), ("python/q", tarfile.SYMTYPE, "p", 0o777)],
            "loop",
        ),
        (
            [
                ("python/d1/l1", tarfile.SYMTYPE, "../d2", 0o777),
                ("python/d2/l2", tarfile.SYMTYPE, "../d1", 0o777),
            ],
            "loop of directory links",
        ),
    ],
)
def test_tree_refuses(members: list[Member], why: str) -> None:
    """Links through links, members below links, duplicates, hard links to nothing, loops."""
    with pytest.raises(UnsafeArchive) as caught:
        tree_of(*members)
    assert why in caught.value.one_line()


SEGMENTS = st.sampled_from(["a", "b", "lnk", "..", ".", "", "python"])
KINDS = st.sampled_from(
    [
        tarfile.REGTYPE,
        tarfile.REGTYPE,
        tarfile.DIRTYPE,
        tarfile.SYMTYPE,
        tarfile.SYMTYPE,
        tarfile.LNKTYPE,
        tarfile.CHRTYPE,
        tarfile.BLKTYPE,
        tarfile.FIFOTYPE,
    ]
)


@st.composite
def member_names(draw: st.DrawFn) -> str:
    head = draw(
        st.sampled_from(["python/", "python/", "python/", "/python/", "./python/", "", "../"])
    )
    return head + "/".join(draw(st.lists(SEGMENTS, min_size=0, max_size=5)))


@st.composite
def link_texts(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["", "", "../", "../../", "/", "python/"]))
    return head + "/".join(draw(st.lists(SEGMENTS, min_size=0, max_size=4)))


@st.composite
def members(draw: st.DrawFn) -> Member:
    return (
        draw(member_names()),
        draw(KINDS),
        draw(link_texts()),
        draw(st.sampled_from([0o644, 0o755, 0o4777])),
    )


PLAIN = st.sampled_from(["a", "b", "l"])  # few names: links often meet other members


@st.composite
def plausible_members(draw: st.DrawFn) -> Member:
    """Members like a real archive's (so that many whole archives pass the filter), and now
    and then a hostile one."""
    if draw(st.integers(0, 15)) == 0:
        return draw(members())
    kind = draw(
        st.sampled_from(
            [tarfile.REGTYPE] * 3 + [tarfile.DIRTYPE] + [tarfile.SYMTYPE] * 4 + [tarfile.LNKTYPE]
        )
    )
    name = "python/" + "/".join(draw(st.lists(PLAIN, min_size=1, max_size=3)))
    link = ""
    if kind == tarfile.SYMTYPE:
        ups = "../" * draw(st.integers(0, 2))
        link = ups + "/".join(draw(st.lists(PLAIN, min_size=1, max_size=2)))
    elif kind == tarfile.LNKTYPE:
        link = "python/" + "/".join(draw(st.lists(PLAIN, min_size=1, max_size=3)))
    return name, kind, link, draw(st.sampled_from([0o644, 0o755]))


ALL_PATHS = sorted(
    "/".join(parts)
    for depth in (1, 2, 3)
    for parts in itertools.product(["a", "b", "l"], repeat=depth)
)


@st.composite
def linked_archives(draw: st.DrawFn) -> list[Member]:
    """Files, then links at free names whose targets are mostly other members (files,
    directories, links), written as relative paths the way real archives have them; now and
    then a hostile member."""
    files = draw(st.lists(st.sampled_from(ALL_PATHS), min_size=1, max_size=5, unique=True))
    files = [path for path in files if not any(other.startswith(path + "/") for other in files)]
    archive: list[Member] = [("python/" + path, tarfile.REGTYPE, "", 0o755) for path in files]
    leaves = set(files)
    directories = {os.path.dirname(path) for path in files if "/" in path}
    links: set[str] = set()
    for _ in range(draw(st.integers(1, 6))):
        free = [
            path
            for path in ALL_PATHS
            if path not in leaves
            and path not in directories
            and not any(path.startswith(taken + "/") for taken in leaves)
        ]
        if not free:
            break
        name = draw(st.sampled_from(free))
        if draw(st.integers(0, 3)) == 0:
            target = draw(st.sampled_from(files))
            archive.append(("python/" + name, tarfile.LNKTYPE, "python/" + target, 0o644))
        else:
            through = {f"{link}/{child}" for link in links for child in ("a", "b")}
            targets = sorted((leaves | directories | through) - {name}) or ALL_PATHS
            target = (
                draw(st.sampled_from(targets))
                if draw(st.integers(0, 4))
                else draw(st.sampled_from(ALL_PATHS))
            )
            text = posixpath.relpath(target, posixpath.dirname(name) or ".")
            archive.append(("python/" + name, tarfile.SYMTYPE, text, 0o777))
            links.add(name)
        leaves.add(name)
        parent = posixpath.dirname(name)
        while parent:
            directories.add(parent)
            parent = posixpath.dirname(parent)
    if draw(st.integers(0, 9)) == 0:
        archive.insert(draw(st.integers(0, len(archive))), draw(members()))
    return archive


def inside(path: str) -> bool:
    """Joined onto a root, ``path`` stays strictly inside it."""
    return os.path.normpath(os.path.join("/root", path)).startswith("/root/")


@settings(max_examples=500, deadline=None)
@given(members())
def test_accepted_members_stay_inside_the_tree(member: Member) -> None:
    name, kind, link, mode = member
    try:
        entry = check_member(tar_info(name, kind, link, mode))
    except UnsafeArchive:
        return
    assert kind not in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)
    if entry is None:
        assert kind == tarfile.DIRTYPE
        return
    parts = entry.path.split("/")
    assert ".." not in parts and "" not in parts and not entry.path.startswith("/")
    assert inside(entry.path)
    assert entry.mode & 0o7000 == 0, "no set-id or sticky bits"
    if entry.kind is Kind.SYMLINK:
        assert not entry.link.startswith("/")
        assert inside(os.path.join(os.path.dirname(entry.path), entry.link))
    if entry.kind is Kind.HARDLINK:
        assert inside(entry.link)


def _extract_into_fresh_dir(archive: Path, strategy: Strategy) -> Path:
    parent = Path(tempfile.mkdtemp(prefix="anyvenv-archive-prop-"))
    destination = parent / "dest"
    destination.mkdir()
    extract(archive, read_tree(archive), destination, plan(strategy, Strategy.COPY))
    return destination


def _view(root: Path) -> dict[str, bytes | None]:
    """What a reader sees below ``root``, following links: path -> bytes (None: a directory)."""
    seen: dict[str, bytes | None] = {}
    for directory, dirs, files in os.walk(root, followlinks=True):
        for name in dirs + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            if os.path.isdir(path):
                seen[relative] = None
            elif os.path.isfile(path):
                seen[relative] = Path(path).read_bytes()
    return seen


def _check_contained(destination: Path, strategy: Strategy) -> None:
    assert os.listdir(destination.parent) == ["dest"], "nothing beside the destination"
    real_destination = os.path.realpath(destination)
    for directory, dirs, files in os.walk(destination):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                assert strategy is Strategy.SYMLINK
                resolved = os.path.realpath(path)
                assert resolved.startswith(real_destination + os.sep), (path, resolved)
            else:
                info = os.lstat(path)
                assert stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        linked_archives(), linked_archives(), st.lists(plausible_members(), min_size=1, max_size=10)
    )
)
def test_accepted_archives_stay_inside_and_copies_look_like_links(
    archive_members: list[Member],
) -> None:
    """Whatever the members, an archive the filter accepts writes only inside the destination,
    every symlink it makes resolves (as the kernel does) inside it, and where links become
    copies a reader sees the same files with the same bytes as through the links."""
    work = Path(tempfile.mkdtemp(prefix="anyvenv-archive-src-"))
    made: list[Path] = []
    try:
        archive = write_archive(work / "a.tar.gz", archive_members, data=None)
        try:
            read_tree(archive)
        except UnsafeArchive:
            return
        for strategy in (Strategy.SYMLINK, Strategy.COPY):
            made.append(_extract_into_fresh_dir(archive, strategy))
            _check_contained(made[-1], strategy)
        assert _view(made[0]) == _view(made[1])
    finally:
        shutil.rmtree(work)
        for destination in made:
            shutil.rmtree(destination.parent)


# -- extraction by plan ------------------------------------------------------------------------

LAYOUT: list[Member] = [
    ("python/", tarfile.DIRTYPE, "", 0o755),
    ("python/bin/", tarfile.DIRTYPE, "", 0o755),
    ("python/bin/python3", tarfile.SYMTYPE, "python3.12", 0o777),  # before its target
    ("python/bin/python3.12", tarfile.REGTYPE, "", 0o755),
    ("python/bin/python", tarfile.SYMTYPE, "python3", 0o777),  # a chain
    ("python/lib/libpython3.12.so.1.0", tarfile.REGTYPE, "", 0o755),
    ("python/lib/libpython3.12.so", tarfile.SYMTYPE, "libpython3.12.so.1.0", 0o777),
    ("python/share/terminfo/v/vt", tarfile.REGTYPE, "", 0o644),
    ("python/share/terminfo/v/vt-hard", tarfile.LNKTYPE, "python/share/terminfo/v/vt", 0o644),
    ("python/share/terminfo/x/xterm", tarfile.SYMTYPE, "../v/vt", 0o777),
    ("python/share/alias", tarfile.SYMTYPE, "terminfo", 0o777),  # a directory link
    ("python/share/dangling", tarfile.SYMTYPE, "nothing-here", 0o777),
]


@pytest.fixture
def layout_archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "layout.tar.gz", LAYOUT)


def test_symlink_plan_makes_the_archive_links(layout_archive: Path, tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    report = extract(layout_archive, read_tree(layout_archive), root, plan(Strategy.SYMLINK))
    assert os.readlink(root / "bin/python3") == "python3.12"
    assert os.readlink(root / "bin/python") == "python3"
    assert os.readlink(root / "share/terminfo/x/xterm") == "../v/vt"
    assert (root / "share/alias/v/vt").read_bytes() == b"data\n"
    assert os.path.islink(root / "share/dangling")
    hard = root / "share/terminfo/v/vt-hard"
    assert hard.stat().st_ino == (root / "share/terminfo/v/vt").stat().st_ino
    assert report.skipped == []
    assert (report.files, report.links) == (3, 7)


@pytest.mark.parametrize("strategy", [Strategy.HARDLINK, Strategy.COPY])
def test_linkless_plans_make_regular_files(
    layout_archive: Path, tmp_path: Path, strategy: Strategy
) -> None:
    root = tmp_path / "out"
    root.mkdir()
    done: list[int] = []
    report = extract(
        layout_archive,
        read_tree(layout_archive),
        root,
        plan(strategy, strategy),
        lambda d, t: done.append(d),
    )
    for path in root.rglob("*"):
        assert not path.is_symlink(), path
    exe = root / "bin/python3.12"
    for name in ("python", "python3"):
        alias = root / "bin" / name
        assert alias.read_bytes() == exe.read_bytes()
        assert stat.S_IMODE(alias.stat().st_mode) == 0o755, "exec bits kept"
        same_inode = alias.stat().st_ino == exe.stat().st_ino
        assert same_inode is (strategy is Strategy.HARDLINK)
    assert (root / "share/terminfo/x/xterm").read_bytes() == b"data\n"
    assert (root / "share/alias/v/vt").read_bytes() == b"data\n", "a directory link becomes a tree"
    assert (root / "share/alias/x/xterm").read_bytes() == b"data\n"
    assert not os.path.lexists(root / "share/dangling")
    assert report.skipped == ["share/dangling (link to nothing: nothing-here)"]
    assert done[-1] == len(read_tree(layout_archive).entries)


def test_truncated_or_garbage_archive_is_broken(layout_archive: Path, tmp_path: Path) -> None:
    data = layout_archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokenArchive, match="cannot be read"):
        read_tree(cut)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b" + os.urandom(2000))
    with pytest.raises(BrokenArchive):
        read_tree(garbage)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(BrokenArchive):
        read_tree(empty)


@pytest.mark.parametrize("lab_kind", ["exfat"])
def test_case_collisions_are_skipped_on_case_insensitive_mounts(
    target: Path, tmp_path: Path
) -> None:
    from anyvenv.fs.probe import probe
    from anyvenv.pythons.archive import plan_links

    archive = write_archive(
        tmp_path / "case.tar.gz",
        [
            ("python/share/terminfo/E/Eterm", tarfile.REGTYPE, "", 0o644),
            ("python/share/terminfo/e/eterm", tarfile.REGTYPE, "", 0o644),
            ("python/share/terminfo/e/xterm", tarfile.REGTYPE, "", 0o644),
        ],
    )
    link_plan = plan_links(probe(target))
    assert link_plan.case_sensitive is False
    root = target / "out"
    root.mkdir()
    report = extract(archive, read_tree(archive), root, link_plan)
    assert report.files == 2
    assert report.skipped == ["share/terminfo/e/eterm (same name as another, ignoring case)"]
    assert sorted(os.listdir(root / "share/terminfo/e")) == ["Eterm", "xterm"]

"""Property tests (hypothesis) of the parsers that read what others wrote: pyvenv.cfg,
/proc/self/mountinfo lines, ``--python`` requests and specifiers, ELF files, and the
archive member filter of ``anyvenv python install``. On any input they return a value or
raise their one documented error, never anything else; what they accept is safe."""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import struct
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from reliability_report import Tally

from anyvenv.envbuild.config import parse_pyvenv_cfg, render_pyvenv_cfg
from anyvenv.errors import AnyvenvError, UsageError
from anyvenv.fs.mounts import mount_of, parse_mountinfo_line, read_mounts
from anyvenv.fs.place import Strategy
from anyvenv.interpreter.elf import NotElf, parse_dynamic_info
from anyvenv.interpreter.linkage import libpython_linkage
from anyvenv.interpreter.request import PythonRequest, parse_request, parse_specifiers
from anyvenv.pythons.archive import (
    Kind,
    LinkPlan,
    UnsafeArchive,
    check_member,
    check_tree,
    extract,
    read_tree,
    symlink_target_path,
)

EXAMPLES = 300
FAST = settings(max_examples=EXAMPLES, deadline=None)
SLOW = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def _count(reliability: Tally) -> None:
    reliability.add("properties", "property and parser tests (up to 300 random inputs each)")


# -- pyvenv.cfg ------------------------------------------------------------------------------


@FAST
@given(st.text())
def test_pyvenv_cfg_parser_takes_any_text(text: str) -> None:
    values = parse_pyvenv_cfg(text)
    for key, value in values.items():
        assert key == key.strip().lower() and key and "=" not in key
        assert value == value.strip()
        assert "\n" not in key + value


_CFG_KEY = (
    st.text(st.characters(blacklist_characters="=\n\r", blacklist_categories=("Cs",)), min_size=1)
    .map(str.strip)
    .filter(bool)
)
_CFG_VALUE = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",))).map(
    str.strip
)


@FAST
@given(st.dictionaries(_CFG_KEY.map(str.lower), _CFG_VALUE, max_size=8))
@example({"home": "/opt/py\x1cthon\x85\u2028bin", "prompt": "a\x0bb\x0cc"})
def test_pyvenv_cfg_round_trips_what_it_renders(values: dict[str, str]) -> None:
    """Only "\\n" ends a line, as in CPython's getpath: a home holding \\x1c, \\x85 or
    \\u2028 (legal in file names) is read back whole."""
    text = render_pyvenv_cfg(values).decode("utf-8", "surrogateescape")
    assert parse_pyvenv_cfg(text) == values


@given(st.sampled_from(["\n", "\r"]), st.sampled_from(["prompt", "home"]))
def test_pyvenv_cfg_refuses_a_value_that_would_inject_a_line(newline: str, key: str) -> None:
    with pytest.raises(UsageError):
        render_pyvenv_cfg({key: f"x{newline}home = /somewhere/else"})


# -- mountinfo ---------------------------------------------------------------------------------


def _kernel_escape(text: str) -> str:
    """What the kernel does to a path in mountinfo: space, tab, newline, backslash as octal."""
    return "".join(f"\\{ord(char):03o}" if char in " \t\n\\" else char for char in text)


_PATH = st.text(
    st.characters(blacklist_characters="\x00/", blacklist_categories=("Cs",)), min_size=1
).map(lambda name: "/mnt/" + name)


@FAST
@given(st.text())
@example("1 2 3:4 / /a\\999 rw - ext4 /dev/x rw")
@example("1 2 3:4 / /a\\9\u0663\u0663 rw - ext4 /dev/x rw")
def test_mountinfo_line_parser_takes_any_text(line: str) -> None:
    parsed = parse_mountinfo_line(line)
    assert parsed is None or isinstance(parsed.mount_point, str)


@FAST
@given(_PATH, st.sampled_from(["fuse.sshfs", "ext4", "cifs", "fuseblk"]))
@example("/mnt/a\xa0b", "fuse.sshfs")
@example("/mnt/a\u2028b\x85c\x1cd", "cifs")
def test_mountinfo_line_round_trips_any_mount_point(mount_point: str, fstype: str) -> None:
    """Fields are separated by single spaces; other whitespace (no-break space, U+2028) is
    part of a name, and only "\\n" ends a line."""
    line = (
        f"36 35 0:52 / {_kernel_escape(mount_point)} rw,nosuid shared:1 - {fstype} src "
        "rw,mfsymlinks,user_id=0"
    )
    parsed = parse_mountinfo_line(line)
    assert parsed is not None
    assert (parsed.mount_point, parsed.fstype, parsed.device) == (mount_point, fstype, "0:52")
    assert (parsed.options, parsed.super_options) == (
        ("rw", "nosuid"),
        ("rw", "mfsymlinks", "user_id=0"),
    )
    table = read_mounts("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n" + line + "\n")
    assert [m.mount_point for m in table] == ["/", mount_point]


def test_mount_of_a_path_with_a_no_break_space_is_its_own_mount() -> None:
    table = read_mounts(
        "25 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        f"36 25 0:52 / {_kernel_escape('/mnt/share x')}\xa0y rw - fuse.sshfs h:/ rw\n"
    )
    found = mount_of("/", mounts=table)
    assert found is not None and found.fstype == "ext4"
    assert table[1].mount_point == "/mnt/share x\xa0y"


# -- --python requests -----------------------------------------------------------------------


@FAST
@given(st.text())
@example("3" * 5000)
@example("python" + "3" * 5000)
@example(">=" + "1" * 5000)
def test_python_request_parser_takes_any_text(raw: str) -> None:
    try:
        request = parse_request(raw)
    except UsageError:
        return
    assert isinstance(request, PythonRequest)
    assert sum(x is not None for x in (request.path, request.name)) <= 1
    request.matches_version((3, 12, 1))


@FAST
@given(st.text())
@example("==3.*.1")
def test_specifier_parser_takes_any_text(text: str) -> None:
    try:
        specs = parse_specifiers(text)
    except ValueError:
        return
    assert specs
    for spec in specs:
        spec.contains((3, 11, 4))


@FAST
@given(
    st.sampled_from(["==", "!=", ">=", "<=", ">", "<", "~="]),
    st.lists(st.integers(0, 40), min_size=1, max_size=3),
    st.lists(st.integers(0, 40), min_size=3, max_size=3),
)
def test_specifiers_agree_with_tuple_order(op: str, bound: list[int], version: list[int]) -> None:
    (spec,) = parse_specifiers(op + ".".join(map(str, bound)))
    assume(op != "~=" or len(bound) > 1)
    v, b = tuple(version), tuple(bound)
    padded = v[: len(b)]
    expected = {
        "==": padded == b,
        "!=": padded != b,
        ">=": v >= b + (0,) * (3 - len(b)),
        "<": v < b + (0,) * (3 - len(b)),
        ">": padded > b,
        "<=": padded <= b,
        "~=": v >= b + (0,) * (3 - len(b)) and v[: len(b) - 1] == b[:-1],
    }[op]
    assert spec.contains(v) == expected


# -- ELF ---------------------------------------------------------------------------------------


def _elf_header(is64: bool, little: bool, phoff: int, phentsize: int, phnum: int) -> bytes:
    endian = "<" if little else ">"
    head = bytearray(64)
    head[:4] = b"\x7fELF"
    head[4] = 2 if is64 else 1
    head[5] = 1 if little else 2
    if is64:
        struct.pack_into(endian + "Q", head, 0x20, phoff)
        struct.pack_into(endian + "HH", head, 0x36, phentsize, phnum)
    else:
        struct.pack_into(endian + "I", head, 0x1C, phoff)
        struct.pack_into(endian + "HH", head, 0x2A, phentsize, phnum)
    return bytes(head)


@FAST
@given(st.binary(max_size=4096))
def test_elf_reader_on_random_bytes(data: bytes) -> None:
    with contextlib.suppress(NotElf, ValueError):
        parse_dynamic_info(data)


@FAST
@given(
    st.booleans(),
    st.booleans(),
    st.integers(0, 300),
    st.integers(0, 80),
    st.integers(0, 40),
    st.binary(max_size=2048),
)
@example(True, True, 64, 56, 3, b"")
def test_elf_reader_on_damaged_headers(
    is64: bool, little: bool, phoff: int, phentsize: int, phnum: int, rest: bytes
) -> None:
    """A real header shape with wrong offsets and counts: truncated or corrupt copies."""
    with contextlib.suppress(NotElf, ValueError):
        parse_dynamic_info(_elf_header(is64, little, phoff, phentsize, phnum) + rest)


REAL_ELF = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")


@FAST
@given(st.data())
def test_elf_reader_on_truncated_and_flipped_real_files(data: st.DataObject) -> None:
    if not REAL_ELF.exists():
        pytest.skip("no pyenv python3.11")
    original = REAL_ELF.read_bytes()
    cut = data.draw(st.integers(0, len(original)))
    damaged = bytearray(original[:cut])
    for _ in range(data.draw(st.integers(0, 4))):
        if damaged:
            at = data.draw(st.integers(0, len(damaged) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(NotElf, ValueError):
        parse_dynamic_info(bytes(damaged))


def test_linkage_of_a_truncated_interpreter_copy_is_unknown(tmp_path: Path) -> None:
    """A copy cut short (a killed cp) must not crash `anyvenv check` and friends."""
    if not REAL_ELF.exists():
        pytest.skip("no pyenv python3.11")
    cut = tmp_path / "python3.11"
    cut.write_bytes(REAL_ELF.read_bytes()[:100])
    assert libpython_linkage(cut).kind.value == "unknown"


# -- the archive member filter ---------------------------------------------------------------

_PART = st.sampled_from(["python", "bin", "lib", "a", "..", ".", "", "x\\y", "\x00", "é", "\n"])
_NAME = st.lists(_PART, min_size=1, max_size=5).map("/".join) | st.just("/etc/passwd")
_TYPES = [
    tarfile.REGTYPE,
    tarfile.DIRTYPE,
    tarfile.SYMTYPE,
    tarfile.LNKTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.FIFOTYPE,
    tarfile.CONTTYPE,
]


@st.composite
def members(draw: st.DrawFn) -> tarfile.TarInfo:
    name = draw(st.one_of(_NAME, _NAME.map(lambda n: "python/" + n)))
    info = tarfile.TarInfo(name)
    info.type = draw(st.sampled_from(_TYPES))
    info.linkname = draw(st.one_of(_NAME, _NAME.map(lambda n: "python/" + n)))
    info.mode = draw(st.integers(0, 0o7777))
    return info


def _inside(path: str) -> bool:
    normal = posixpath.normpath(path)
    return not normal.startswith("/") and normal != ".." and not normal.startswith("../")


@FAST
@given(members())
def test_member_filter_accepts_only_members_that_stay_inside(member: tarfile.TarInfo) -> None:
    try:
        entry = check_member(member)
    except UnsafeArchive:
        return
    if entry is None:
        assert member.isdir()
        return
    parts = entry.path.split("/")
    assert all(part not in ("", ".", "..") for part in parts), entry
    assert not any(char in entry.path for char in "\x00\n\\")
    if entry.kind in (Kind.FILE, Kind.HARDLINK):
        # no set-id nor sticky bit, no write for others; the group writes only what it reads
        # (and only where the umask lets it: see test_cli_python's umask test)
        assert entry.mode & 0o7000 == 0 and entry.mode & 0o002 == 0
        assert not entry.mode & 0o020 or entry.mode & 0o040, oct(entry.mode)
    if entry.kind is Kind.SYMLINK:
        assert _inside(symlink_target_path(entry)), entry
    if entry.kind is Kind.HARDLINK:
        assert _inside(entry.link), entry
    assert entry.kind in (Kind.DIR, Kind.FILE, Kind.SYMLINK, Kind.HARDLINK)


def _archive(tmp: Path, chosen: list[tarfile.TarInfo]) -> Path:
    path = tmp / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        top = tarfile.TarInfo("python")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for member in chosen:
            data = b"x" * 3 if member.isreg() else b""
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data else None)
    return path


_DIRS = ("bin", "lib", "lib/sub")
_LEAVES = ("a", "b", "c", "python3")
_PLAUSIBLE_LINK = st.one_of(
    st.lists(st.sampled_from(["..", *_LEAVES, *_DIRS]), min_size=1, max_size=4).map("/".join),
    st.sampled_from(["/etc", "/tmp", "python/a", "python/../a", "../../../etc"]),
)


@st.composite
def plausible_members(draw: st.DrawFn) -> tarfile.TarInfo:
    """Members shaped like a real archive (most pass the filter), with hostile link texts."""
    directory = draw(st.sampled_from(_DIRS))
    if draw(st.integers(0, 4)) == 0:
        info = tarfile.TarInfo(f"python/{directory}")
        info.type = tarfile.DIRTYPE
        return info
    info = tarfile.TarInfo(f"python/{directory}/{draw(st.sampled_from(_LEAVES))}")
    kinds = [tarfile.REGTYPE] * 8 + [tarfile.SYMTYPE] * 8 + [tarfile.LNKTYPE] * 2
    info.type = draw(st.sampled_from([*kinds, tarfile.CHRTYPE]))
    if info.type == tarfile.SYMTYPE:
        info.linkname = draw(_PLAUSIBLE_LINK)
    else:
        info.linkname = f"python/{draw(st.sampled_from(_DIRS))}/{draw(st.sampled_from(_LEAVES))}"
    info.mode = draw(st.sampled_from([0o644, 0o755, 0o4755, 0o777]))
    return info


@SLOW
@given(
    st.sampled_from([True, True, True, False]).flatmap(
        lambda plausible: (
            st.lists(plausible_members(), min_size=1, max_size=10, unique_by=lambda m: m.name)
            if plausible
            else st.lists(plausible_members() | members(), min_size=1, max_size=6)
        )
    ),
    st.sampled_from(["symlink", "copy"]),
)
def test_extraction_of_random_archives_writes_only_inside(
    tmp_path_factory: pytest.TempPathFactory, chosen: list[tarfile.TarInfo], links: str
) -> None:
    work = tmp_path_factory.mktemp("extract")
    outside = work / "outside"
    outside.mkdir()
    (outside / "canary").write_text("untouched")
    archive = _archive(work, chosen)
    root = work / "sandbox" / "root"
    root.mkdir(parents=True)
    try:
        tree = read_tree(archive)
    except AnyvenvError as exc:
        event(f"refused: {exc.message.split(' ', 3)[-1][:40]}")
        return
    strategy = Strategy.SYMLINK if links == "symlink" else Strategy.COPY
    plan = LinkPlan(strategy, Strategy.COPY, True, "test")
    event("archive accepted")
    try:
        extract(archive, tree, root, plan)
    except AnyvenvError:
        pass
    except OSError:
        pass  # e.g. two members at one name: refused by the filesystem, still inside
    assert sorted(os.listdir(work / "sandbox")) == ["root"]
    assert (outside / "canary").read_text() == "untouched"
    assert sorted(os.listdir(outside)) == ["canary"]
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                assert resolved == str(root) or resolved.startswith(str(root) + "/"), path


def test_check_tree_refuses_links_that_escape_through_other_links() -> None:
    def info(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
        member = tarfile.TarInfo(name)
        member.type, member.linkname = kind, link
        return member

    for name, link in (("python/lib/up", ".."), ("python/lib/esc", "up/../..")):
        with pytest.raises(UnsafeArchive):
            check_member(info(name, tarfile.SYMTYPE, link))
    entries = [
        check_member(info("python/lib", tarfile.DIRTYPE)),
        check_member(info("python/bin", tarfile.DIRTYPE)),
        check_member(info("python/lib/sub", tarfile.SYMTYPE, "../bin")),
        check_member(info("python/lib/through", tarfile.SYMTYPE, "sub/python3")),
    ]
    with pytest.raises(UnsafeArchive, match="passes through a link"):
        check_tree([entry for entry in entries if entry is not None])

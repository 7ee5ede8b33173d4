"""A small python-build-standalone look-alike built from a CPython on this machine, served
from a ``file://`` mirror and described by a downloads JSON file (no network).

The archive has the install_only layout: ``python/bin/python3.X`` with RUNPATH
``$ORIGIN/../lib`` (set with patchelf, as standalone builds have), ``python/lib/libpython``,
only the stdlib modules that site, ssl, sqlite3, ctypes, json, sysconfig and platform need,
symlinks like the real archive (``bin/python3 -> python3.X``, ``lib/libpython3.X.so``, a
pkgconfig alias, a ``..`` link) plus a hard link member, and a ``_sysconfigdata`` whose
build prefix is ``/install``. It is built once per test session (a few MB).

Import the fixtures into a test module: ``from standalone_build import standalone, pythons_env``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from anyvenv.pythons.sources import GITHUB_RELEASE_BASES

RELEASE = "20990101"
PYENV_ROOTS = (Path("/root/.pyenv/versions"), Path.home() / ".pyenv" / "versions")
PREFERRED = "3.12.1"
SOURCE_ENV = "ANYVENV_TEST_SHARED_PYTHON"
# What the checks import: everything these pull in (found by running them) goes in.
_COLLECT_SCRIPT = r"""
import json, os, sys, sysconfig, platform, site, ssl, sqlite3, ctypes, subprocess, importlib.util
import encodings.ascii, encodings.latin_1, encodings.utf_8, encodings.utf_8_sig, encodings.aliases
# what uv's interpreter query imports (get_interpreter_info.py and its vendored packaging)
import enum, struct, collections, contextlib, functools, re, warnings, typing, importlib.machinery
sysconfig.get_config_vars()
sysconfig.get_paths(scheme="venv")
platform.python_implementation()
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
"""


@dataclass(frozen=True)
class SharedPython:
    """An --enable-shared CPython on this machine to take the pieces from."""

    prefix: Path
    version: tuple[int, int, int]

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def executable(self) -> Path:
        return self.prefix / "bin" / f"python{self.minor}"

    @property
    def libpython(self) -> Path:
        return self.prefix / "lib" / f"libpython{self.minor}.so.1.0"


def find_shared_python() -> SharedPython | None:
    candidates: list[Path] = []
    if os.environ.get(SOURCE_ENV):
        candidates.append(Path(os.environ[SOURCE_ENV]))
    for root in PYENV_ROOTS:
        candidates.append(root / PREFERRED)
        if root.is_dir():
            candidates.extend(sorted(root.iterdir(), reverse=True))
    for prefix in candidates:
        parts = prefix.name.split(".")
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            continue
        found = SharedPython(prefix, (int(parts[0]), int(parts[1]), int(parts[2])))
        if found.executable.is_file() and found.libpython.is_file():
            return found
    return None


@dataclass(frozen=True)
class StandaloneArchive:
    """One archive in the mirror and the downloads file that describes it."""

    version: tuple[int, int, int]
    path: Path
    sha256: str
    url: str
    """The GitHub URL the metadata gives (the mirror replaces its base)."""
    mirror: str
    """``file://`` base URL of the mirror directory."""
    downloads_json: Path
    source: SharedPython

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def install_name(self) -> str:
        return f"cpython-{self.version_text}-linux-x86_64-gnu"

    @property
    def executable_name(self) -> str:
        return f"python{self.version[0]}.{self.version[1]}"


def archive_filename(version: str) -> str:
    return f"cpython-{version}+{RELEASE}-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"


def github_url(version: str) -> str:
    name = archive_filename(version).replace("+", "%2B")
    return f"{GITHUB_RELEASE_BASES[0]}/{RELEASE}/{name}"


def write_downloads_json(
    path: Path, entries: dict[str, tuple[tuple[int, int, int], str, str]]
) -> Path:
    """A downloads file in uv's format: install name -> (version, url, sha256); a name with
    ``+freethreaded`` is that variant."""
    data = {
        name: {
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": None},
            "os": "linux",
            "libc": "gnu",
            "major": version[0],
            "minor": version[1],
            "patch": version[2],
            "prerelease": "",
            "url": url,
            "sha256": sha256,
            "variant": "freethreaded" if "+freethreaded" in name else None,
        }
        for name, (version, url, sha256) in entries.items()
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def _needed_files(source: SharedPython) -> list[Path]:
    out = subprocess.run(
        [str(source.executable), "-I", "-c", _COLLECT_SCRIPT],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    stdlib = source.prefix / "lib" / f"python{source.minor}"
    files = [Path(name) for name in json.loads(out)]
    return sorted(
        path for path in files if stdlib in path.parents and "site-packages" not in path.parts
    )


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def _build_tree(source: SharedPython, tree: Path) -> None:
    """The install_only tree under ``tree/python``."""
    top = tree / "python"
    bin_dir, lib = top / "bin", top / "lib"
    stdlib = lib / f"python{source.minor}"
    for directory in (bin_dir, stdlib / "lib-dynload", lib / "pkgconfig", top / "include"):
        directory.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / source.executable.name
    shutil.copy2(source.executable, exe)
    _run("patchelf", "--set-rpath", "$ORIGIN/../lib", str(exe))
    libpython = lib / source.libpython.name
    shutil.copy2(source.libpython, libpython)
    if shutil.which("strip"):
        _run("strip", "--strip-unneeded", str(libpython))
    source_stdlib = source.prefix / "lib" / f"python{source.minor}"
    for path in _needed_files(source):
        destination = stdlib / path.relative_to(source_stdlib)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.name.startswith("_sysconfigdata_"):
            text = path.read_text().replace(str(source.prefix), "/install")
            destination.write_text(text)
        else:
            shutil.copy2(path, destination)
        if path.suffix == ".so":
            _run("patchelf", "--remove-rpath", str(destination))
    (bin_dir / "python3").symlink_to(exe.name)
    (bin_dir / "python").symlink_to(exe.name)
    config = bin_dir / f"python{source.minor}-config"
    config.write_text('#!/bin/sh\necho "-I$(dirname "$0")/../include"\n')
    config.chmod(0o755)
    (bin_dir / "python3-config").symlink_to(config.name)
    (lib / f"libpython{source.minor}.so").symlink_to(libpython.name)
    pc = lib / "pkgconfig" / f"python-{source.minor}.pc"
    pc.write_text(
        "prefix=/install\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\n"
        f"Name: Python\nVersion: {source.minor}\nLibs: -L${{libdir}} -lpython{source.minor}\n"
    )
    (lib / "pkgconfig" / "python3.pc").symlink_to(pc.name)
    (top / "include" / f"python{source.minor}").mkdir()
    (top / "include" / f"python{source.minor}" / "patchlevel.h").write_text("/* test */\n")
    terminfo = top / "share" / "terminfo"
    (terminfo / "v").mkdir(parents=True)
    (terminfo / "x").mkdir()
    (terminfo / "v" / "vt-anyvenv").write_bytes(b"terminfo entry\n")
    os.link(terminfo / "v" / "vt-anyvenv", terminfo / "v" / "vt-anyvenv-hard")
    (terminfo / "x" / "xterm-anyvenv").symlink_to("../v/vt-anyvenv")


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 1_700_000_000
    return info


def pack(tree: Path, archive: Path, extra: Callable[[tarfile.TarFile], None] | None = None) -> None:
    """tar.gz of ``tree/python`` (members sorted, owners zeroed), plus ``extra`` members."""
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(tree / "python", arcname="python", filter=_normalized)
        if extra is not None:
            extra(tar)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(mirror_dir: Path, version: str, archive: Path) -> Path:
    """Put ``archive`` where the mirror URL scheme expects it: ``<mirror>/<release>/<file>``."""
    destination = mirror_dir / RELEASE / archive_filename(version)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive, destination)
    return destination


@functools.cache
def build_standalone(workdir: Path) -> StandaloneArchive | None:
    """Build the archive, its mirror and its downloads file under ``workdir`` (once)."""
    source = find_shared_python()
    if source is None or shutil.which("patchelf") is None:
        return None
    tree = workdir / "tree"
    _build_tree(source, tree)
    packed = workdir / "packed.tar.gz"
    pack(tree, packed)
    version = ".".join(map(str, source.version))
    mirror_dir = workdir / "mirror"
    published = publish(mirror_dir, version, packed)
    digest = sha256_of(published)
    name = f"cpython-{version}-linux-x86_64-gnu"
    url = github_url(version)
    downloads = write_downloads_json(
        workdir / "downloads.json", {name: (source.version, url, digest)}
    )
    return StandaloneArchive(
        version=source.version,
        path=published,
        sha256=digest,
        url=url,
        mirror=mirror_dir.as_uri(),
        downloads_json=downloads,
        source=source,
    )


def truncated_copy(archive: Path, destination: Path, keep: float = 0.6) -> Path:
    data = archive.read_bytes()
    destination.write_bytes(data[: int(len(data) * keep)])
    return destination


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        stream.write(data)
    return out.getvalue()


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> StandaloneArchive:
    """The session's test archive (skips where no --enable-shared CPython or patchelf exists,
    fails there under ANYVENV_LAB_REQUIRED=1 as lab mounts do)."""
    built = build_standalone(tmp_path_factory.getbasetemp() / "standalone-archive")
    if built is None:
        why = f"needs an --enable-shared CPython (pyenv, or {SOURCE_ENV}=PREFIX) and patchelf"
        if os.environ.get("ANYVENV_LAB_REQUIRED") == "1":
            pytest.fail(why, pytrace=False)  # CI: a skip would hide the missing coverage
        pytest.skip(why)
    return built


@pytest.fixture
def pythons_env(
    standalone: StandaloneArchive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment for an offline install of the test archive: its downloads file, its mirror,
    a private download cache and interpreter cache. Applied to this process too."""
    values = {
        "ANYVENV_PYTHON_DOWNLOADS_JSON": str(standalone.downloads_json),
        "ANYVENV_PYTHON_INSTALL_MIRROR": standalone.mirror,
        "ANYVENV_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "ANYVENV_PYTHON_BIN_DIR": str(tmp_path / "bin"),  # (not the user's ~/.local/bin)
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    yield values

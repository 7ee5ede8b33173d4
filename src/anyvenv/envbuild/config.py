"""pyvenv.cfg: read any tool's (uv, venv, virtualenv, anyvenv), write ours."""

from __future__ import annotations

import errno
import os
import stat

from anyvenv.errors import EnvironmentBroken, UsageError
from anyvenv.fs import CFG_NAME, is_virtual_environment

MADE_BY_KEY = "anyvenv"  # pyvenv.cfg key holding the version of anyvenv that made the env
MAX_CFG_BYTES = 1 << 20  # ours are < 1 KiB; more is not a config


def read_config_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a pyvenv.cfg, refusing what would hang or exhaust us: a FIFO or device
    (opened without blocking, then refused: EINVAL) and anything over MAX_CFG_BYTES (EFBIG)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        if info.st_size > MAX_CFG_BYTES:
            raise OSError(errno.EFBIG, f"larger than {MAX_CFG_BYTES} bytes", os.fspath(path))
        chunks = []
        while chunk := os.read(fd, MAX_CFG_BYTES + 1):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_CFG_BYTES:
                raise OSError(errno.EFBIG, f"larger than {MAX_CFG_BYTES} bytes", os.fspath(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_regular_or_missing(path: str | os.PathLike[str]) -> bool:
    """Whether reading ``path`` cannot block (CPython's start-up reads pyvenv.cfg blindly)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def parse_pyvenv_cfg(text: str) -> dict[str, str]:
    """``key = value`` lines; others are ignored, as CPython's getpath does. Only "\n" ends a
    line there (not the other characters ``str.splitlines`` splits at, which a path may hold)."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip().lower()] = value.strip()
    return values


def read_pyvenv_cfg(env: str | os.PathLike[str]) -> dict[str, str]:
    """The config of the env at ``env``; :class:`EnvironmentBroken` if unreadable or not one."""
    path = os.path.join(env, CFG_NAME)
    try:
        raw = read_config_bytes(path)
    except FileNotFoundError as exc:
        raise EnvironmentBroken(
            f"{env} has no {CFG_NAME}", "it is not a virtual environment"
        ) from exc
    except OSError as exc:
        raise EnvironmentBroken(f"cannot read {path}: {exc.strerror}") from exc
    return parse_pyvenv_cfg(raw.decode("utf-8", "surrogateescape"))


def config_version(cfg: dict[str, str]) -> tuple[int, ...] | None:
    """(major, minor[, micro]) from ``version_info`` (uv, virtualenv, anyvenv) or ``version``
    (venv): its leading numbers, so ``3.13.0rc2`` is (3, 13, 0); ``None`` without a minor."""
    for key in ("version_info", "version"):
        numbers: list[int] = []
        for piece in cfg.get(key, "").split(".")[:3]:
            digits = piece[: len(piece) - len(piece.lstrip("0123456789"))]
            if not digits:
                break
            numbers.append(int(digits))
            if digits != piece:  # 0rc2: the micro, then no more
                break
        if len(numbers) >= 2:
            return tuple(numbers)
    return None


def config_candidates(
    cfg: dict[str, str], version: tuple[int, ...] | None, free_threaded: bool
) -> list[str]:
    """The base executables a pyvenv.cfg names (``base-executable``, ``executable``, the
    pythons of ``home``), most specific first."""
    found: list[str] = []
    for key in ("base-executable", "executable"):
        if cfg.get(key):
            found.append(cfg[key])
    home = cfg.get("home")
    if home:
        names = []
        if version is not None and len(version) >= 2:
            suffix = "t" if free_threaded else ""
            names.append(f"python{version[0]}.{version[1]}{suffix}")
            names.append(f"python{version[0]}")
        names += ["python3", "python"]
        found += [os.path.join(home, name) for name in names]
    unique: list[str] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def render_pyvenv_cfg(values: dict[str, str]) -> bytes:
    """The file for ``values``; :class:`UsageError` for a key or value that holds a line end
    (a prompt or path with a newline would add lines of its own, e.g. another ``home``)."""
    for key, value in values.items():
        if any(char in key + value for char in "\n\r"):
            raise UsageError(
                f"the pyvenv.cfg value of {key!r} holds a line break: {value!r}",
                "choose a prompt and paths without newlines",
            )
    lines = [f"{key} = {value}" for key, value in values.items()]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def made_on_windows(env: str | os.PathLike[str], cfg: dict[str, str] | None = None) -> str | None:
    """What shows that the env at ``env`` was made on Windows (a drive shared with it: a
    dual boot, a USB drive, a Windows host's folder in a VM), whose python cannot run here:
    ``Scripts\\python.exe``, or a pyvenv.cfg ``home`` with a drive letter or a UNC path; as
    a phrase. ``None`` otherwise. ``cfg``: its pyvenv.cfg, where the caller has read it."""
    for name in ("python.exe", "activate.bat"):
        if os.path.isfile(os.path.join(env, "Scripts", name)):
            return f"Scripts\\{name}"
    if cfg is None:
        try:
            cfg = read_pyvenv_cfg(env)
        except EnvironmentBroken:
            return None
    home = cfg.get("home", "")
    drive = len(home) >= 3 and home[0].isascii() and home[0].isalpha() and home[1] == ":"
    if (drive and home[2] in "\\/") or home.startswith("\\\\"):
        return f"home = {home}"
    return None


CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
# what uv leaves of a venv it gave up on (its interpreter symlink failed): the tag and the
# .gitignore it writes first, and the directories it made before the link
_UV_LEFTOVER_NAMES = frozenset({"CACHEDIR.TAG", ".gitignore", "bin", "lib", "lib64", "include"})


def abandoned_env(path: str | os.PathLike[str]) -> bool:
    """A directory uv began as a venv and gave up on: no pyvenv.cfg; its CACHEDIR.TAG and a
    ``.gitignore`` of ``*``, and at most its directories with nothing in them but other
    directories and ``python*`` entries. Nothing else: another tool's cache directory (a
    CACHEDIR.TAG in cargo's ``target/``, ``.pytest_cache``) is never taken for one."""
    if not os.path.isdir(path) or os.path.islink(path) or is_virtual_environment(path):
        return False
    try:
        names = set(os.listdir(path))
        if "CACHEDIR.TAG" not in names or not names <= _UV_LEFTOVER_NAMES:
            return False
        with open(os.path.join(path, "CACHEDIR.TAG"), "rb") as handle:
            if handle.read(len(CACHEDIR_SIGNATURE)) != CACHEDIR_SIGNATURE:
                return False
        if ".gitignore" in names:
            with open(os.path.join(path, ".gitignore"), "rb") as handle:
                if handle.read(64).strip() != b"*":
                    return False
    except OSError:
        return False
    for name in names - {"CACHEDIR.TAG", ".gitignore"}:
        top = os.path.join(path, name)
        if os.path.islink(top) or not os.path.isdir(top):
            return False
        for _, _, files in os.walk(top):
            if any(not file.startswith("python") for file in files):
                return False
    return True

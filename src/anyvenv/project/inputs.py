"""What a sync read, fingerprinted: when none of it changed since the last successful ``uv sync``
with the same arguments, running uv again would change nothing, so it is skipped.

After uv exits 0 the record is written into the env (``<env>/.anyvenv-sync.inputs``):

- the invocation: anyvenv's version and where it is installed, the working directory,
  anyvenv's options and uv's arguments as given, and every variable uv or anyvenv reads for a
  sync (``UV_*``, ``ANYVENV_*``, ``VIRTUAL_ENV``, ``HOME``, the ``XDG_*`` directories; ``PATH``
  too when the Python is asked for by name);
- each input path with its size, mtime and ctime, or as missing (the list is in
  :mod:`anyvenv.project.inputfiles`: pyproject.toml, uv.toml and .python-version from the
  start directory up to /, workspace members and local packages, uv.lock, uv's user and system
  config, the uv binary, the env's site-packages, the shadow env's);
- the env's vital files (pyvenv.cfg, python, the base interpreter, libpython) with size and
  mtime, as the sync state keeps them;
- the env's filesystem as statvfs gives it (its mount's flags, the filesystem's id): the
  project seen through another mount that changes them (a ``noexec`` or ``nosymfollow`` bind,
  another filesystem at the same path) is synced the ordinary way, where the sync state
  compares the env's mount in full and decides again where the env can run.

A path modified less than :data:`RACY_NS` before the recording (or after it) could change again
within the same mtime tick (a jiffy on local disks, 1 s on sshfs, 2 s on FAT), so without its
mtime changing: its content is recorded too (a directory's names, a file's CRC-32) and compared.
This assumes the clock of a network filesystem's server is within that margin of this one's.
On a filesystem whose times may not tell an edit (sshfs and exFAT, whose ctime is the mtime, so
that restoring an mtime restores both; FAT; fusefat, which keeps both times over a rewrite in
place; any filesystem but a local disk's, the kernel's SMB and NFS clients and its ntfs3
driver), every path is recorded with its content.

The record is kept in marshal format, which reading imports nothing for (json would import
``re``): a no-op sync reads it before anything else is imported. Everything here is
import-light for that reason.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import time

from anyvenv.project.uvrules import env_set, without_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from anyvenv.project.readonce import FileMemo

    # (size, mtime_ns, ctime_ns or 0 if not compared, content digest or None); None: missing
    Entry = tuple[int, int, int, str | int | None] | None

RECORD_NAME = ".anyvenv-sync.inputs"
# bumped whenever what is recorded, or how it is compared, changes: anyvenv's version is no
# help (a record an earlier release made under laxer rules would be trusted)
RECORD_VERSION = 5
RACY_NS = 3_000_000_000

WATCHED_PREFIXES = ("UV_", "ANYVENV_")
# what runs set for the commands they run, and which no sync reads: a nested run (a script of
# the env that calls anyvenv run) must find the sync of the outer one still holding; and
# UV_NO_SYNC, which asks a run for the env as it is (the same env, where it is up to date)
RUN_ONLY_VARIABLES = frozenset(
    {"UV_RUN_RECURSION_DEPTH", "UV_RUN_MAX_RECURSION_DEPTH", "UV_NO_SYNC"}
)
WATCHED_NAMES = frozenset(
    {
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_CONFIG_DIRS",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
    }
)

# uv arguments after which uv must run whatever the inputs: they ask for fresh data, for
# uv's own report, or for dates relative to now.
ALWAYS_RUN_OPTIONS = (
    "--upgrade",
    "--upgrade-package",
    "--reinstall",
    "--reinstall-package",
    "--force-reinstall",
    "--refresh",
    "--refresh-package",
    "--no-cache",
    "--exclude-newer",
    "--exclude-newer-package",
    "--dry-run",
    "--check",
    "--verbose",
    "--output-format",
    "--script",
    "--show-settings",  # (uv then prints them and syncs nothing: no record either)
)
ALWAYS_RUN_SHORT = frozenset("UPnv")  # -U -P -n -v, also inside a cluster such as -qU
ALWAYS_RUN_VARIABLES = ("UV_NO_CACHE", "UV_EXCLUDE_NEWER")  # (the ones uv reads)


def always_runs_uv(uv_args: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether these arguments or variables make uv run even when nothing changed."""
    for arg in uv_args:
        if arg.startswith("--"):
            if arg.partition("=")[0] in ALWAYS_RUN_OPTIONS:
                return True
        elif arg.startswith("-") and not ALWAYS_RUN_SHORT.isdisjoint(arg[1:]):
            return True
    # (values, not only booleans; uv, which runs then, judges them)
    return any(env_set(environ, name) for name in ALWAYS_RUN_VARIABLES)


OUTPUT_FLAGS = frozenset({"--quiet", "--no-progress"})
OUTPUT_OPTIONS = ("--color",)  # with a value


def deciding_args(uv_args: Sequence[str]) -> list[str]:
    """uv's arguments without those that only change its output (``-q``, ``--color X``) and
    without ``--exact``/``--inexact`` (kept apart: :func:`exactness_line`)."""
    return [
        arg
        for arg in without_options(uv_args, OUTPUT_OPTIONS)
        if arg not in OUTPUT_FLAGS and arg not in EXACTNESS_FLAGS and not _only_quiet_flags(arg)
    ]


def _only_quiet_flags(arg: str) -> bool:
    """``-q``, ``-qq``, ..."""
    return arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) == {"q"}


EXACTNESS_FLAGS = ("--exact", "--inexact")
EXACT_LINE = "sync exact"  # extraneous packages removed (uv sync's default)
INEXACT_LINE = "sync inexact"  # extraneous packages left (--inexact; anyvenv run's default)


def exactness_line(uv_args: Sequence[str]) -> str:
    """The last of ``--exact``/``--inexact`` wins, as in uv."""
    for arg in reversed(uv_args):
        if arg in EXACTNESS_FLAGS:
            return EXACT_LINE if arg == "--exact" else INEXACT_LINE
    return EXACT_LINE


class Invocation:
    """One sync as asked for: what decides, beside the input files, what uv does."""

    __slots__ = ("cwd", "environ", "link_mode", "python", "uv_args")

    def __init__(
        self,
        python: str | None,
        link_mode: str | None,
        uv_args: Sequence[str],
        cwd: str,
        environ: Mapping[str, str],
    ) -> None:
        self.python = python
        self.link_mode = link_mode
        self.uv_args = tuple(uv_args)
        self.cwd = cwd
        self.environ = environ

    def key(self, extra_variables: Iterable[str] = (), env: str | None = None) -> list[str]:
        """What the sync depends on beside its files. ``env``: the env synced, which an
        activated ``VIRTUAL_ENV`` naming it leaves as uv finds it with none (a run in it)."""
        from anyvenv import __version__

        extra = frozenset(extra_variables)
        skipped = RUN_ONLY_VARIABLES
        active = self.environ.get("VIRTUAL_ENV")
        if env is not None and active and os.path.normpath(active) == os.path.normpath(env):
            skipped = skipped | {"VIRTUAL_ENV"}
        key = [
            f"anyvenv {__version__} {RECORD_VERSION}",
            f"installed in {sys.prefix}",  # where find_uv looks
            f"cwd {self.cwd}",
            f"--python {self.python}",
            f"--link-mode {self.link_mode}",
            *(f"uv arg {arg}" for arg in deciding_args(self.uv_args)),
            exactness_line(self.uv_args),
        ]
        if env is not None:  # the env's filesystem: its placement was decided for it
            key.append(_filesystem_line(env))
        key += sorted(
            f"variable {name}={value}"
            for name, value in self.environ.items()
            if (name.startswith(WATCHED_PREFIXES) or name in WATCHED_NAMES or name in extra)
            and name not in skipped
        )
        key += [f"variable {name} unset" for name in sorted(extra) if name not in self.environ]
        return key


def _filesystem_line(env: str) -> str:
    """The env's filesystem as statvfs tells it: the flags of its mount (noexec, nosymfollow,
    read-only...) and the filesystem's id. One call, not a read of /proc/self/mountinfo (up
    to a millisecond where there are many mounts): the sync state compares the mount in
    full (type, mount point, options) whenever a sync runs uv, this only what may leave the
    env unable to run while uv is not run (a noexec bind mount, another filesystem at the
    same path). Not the device number, which an overlay changes at every start of a
    container."""
    try:
        st = os.statvfs(env)
    except OSError:
        return "env filesystem unknown"
    return f"env filesystem flags {st.f_flag} id {st.f_fsid} names {st.f_namemax}"


# -- fingerprints of paths ---------------------------------------------------------------------


def _racy(mtime_ns: int, recorded_at_ns: int) -> bool:
    return mtime_ns > recorded_at_ns - RACY_NS


# filesystems whose ctime moves to "now" whenever a file's content or times change, which no
# tool can set back: there size, mtime and ctime stand for the content (local disks, the
# kernel's SMB and NFS clients, whose ctime is the server's change time, and ntfs3, which keeps
# NTFS's change time). Elsewhere a file's
# times may not tell an edit: sshfs and exFAT give the mtime as ctime (``cp -p``, ``tar -x``
# or ``rsync -a`` set both back), FAT a creation time, fusefat keeps both over a rewrite in
# place, and other FUSE filesystems are not known: every input there is compared by content.
CTIME_TRUSTED_FSTYPES = frozenset({"cifs", "smb3", "nfs", "nfs4", "ntfs3"})
# (a larger input there, the uv binary of an anyvenv installed on a share, is not read at each
# no-op sync: another release of it has another size)
UNTOLD_DIGEST_MAX_BYTES = 4 * 1024 * 1024
_times_untrusted: dict[int, bool] = {}


def _times_do_not_tell(path: str, device: int) -> bool:
    known = _times_untrusted.get(device)
    if known is None:
        from anyvenv.fs.mounts import mount_of

        mount = mount_of(path)
        known = _times_untrusted[device] = mount is None or not (
            mount.is_local or mount.fstype in CTIME_TRUSTED_FSTYPES
        )
    return known


def _digest(path: str, st: os.stat_result) -> str | int:
    """A directory's sorted names, or a file's CRC-32 (a FIFO or device: its type alone; reading
    one could wait forever). A file this command has read already, and that is still the one
    read (``st``: its stat a moment ago), is not read again (:mod:`anyvenv.project.readonce`)."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return "\0".join(sorted(os.listdir(path)))
    if not stat.S_ISREG(mode):
        return f"type {stat.S_IFMT(mode)}"
    import zlib

    memo = _active_memo()
    kept = memo.same_file(path, st) if memo is not None else None
    if kept is not None:
        return zlib.crc32(kept)
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def _active_memo() -> FileMemo | None:
    """The memo of what this command read (:mod:`anyvenv.project.readonce`), if one is active:
    none can be where that module was never imported (a no-op sync does not import it)."""
    readonce = sys.modules.get("anyvenv.project.readonce")
    return None if readonce is None else readonce.current()


def entry_of(path: str, recorded_at_ns: int | None) -> Entry:
    """The fingerprint of ``path`` now: an input (``recorded_at_ns`` given) with its ctime (which
    no tool sets back, unlike the mtime) and, when racy, its content; a vital file with size and
    mtime only (its ctime moves whenever another env hard-links it). :class:`OSError` when it
    cannot be read (other than missing)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if recorded_at_ns is None:
        return (st.st_size, st.st_mtime_ns, 0, None)
    racy = _racy(st.st_mtime_ns, recorded_at_ns) or (
        st.st_size <= UNTOLD_DIGEST_MAX_BYTES and _times_do_not_tell(path, st.st_dev)
    )
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, _digest(path, st) if racy else None)


def still_matches(path: str, entry: Entry) -> bool:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return entry is None
    except OSError:
        return False
    if entry is None:
        return False
    size, mtime_ns, ctime_ns, digest = entry
    if (st.st_size, st.st_mtime_ns) != (size, mtime_ns) or ctime_ns not in (0, st.st_ctime_ns):
        return False
    if digest is None:  # an input recorded without its content where the times do not tell
        # (by a release that trusted them there): not one this release can vouch for
        return not (
            ctime_ns and size <= UNTOLD_DIGEST_MAX_BYTES and _times_do_not_tell(path, st.st_dev)
        )
    try:
        return _digest(path, st) == digest
    except OSError:
        return False


# -- the record --------------------------------------------------------------------------------


class InputsRecord:
    """The inputs of the last successful ``uv sync`` into an env, and what it reported."""

    __slots__ = ("env", "extra_variables", "files", "key", "summary")

    def __init__(
        self,
        env: str,
        key: list[str],
        extra_variables: list[str],
        files: dict[str, Entry],
        summary: dict[str, object],
    ) -> None:
        self.env = env
        self.key = key
        self.extra_variables = extra_variables  # variables in the key beyond the watched ones
        self.files = files
        self.summary = summary  # the sync's --json fields that do not change while it holds

    @classmethod
    def take(
        cls,
        env: str,
        invocation: Invocation,
        extra_variables: list[str],
        inputs: Iterable[str],
        vital: Iterable[str],
        summary: dict[str, object],
        known: Mapping[str, Entry] | None = None,
    ) -> InputsRecord:
        """Fingerprint ``inputs`` and ``vital`` files (size and mtime: the sync state trusts them
        the same way) now; ``known``: inputs fingerprinted a moment ago and found unchanged
        since, taken as they are (on a share each is a round trip or a read more). :class:`OSError`
        if one cannot be read."""
        now = time.time_ns()
        known = known or {}
        files: dict[str, Entry] = {
            path: known[path] if path in known else entry_of(path, now) for path in inputs
        }
        for path in vital:
            files.setdefault(path, entry_of(path, None))
        return cls(env, invocation.key(extra_variables, env), extra_variables, files, summary)

    def holds_for(self, invocation: Invocation) -> bool:
        """Same invocation, and every path as recorded: uv would find nothing to do. An exact
        sync also answers for an inexact one (``anyvenv run`` after ``anyvenv sync``), not the
        other way round: packages the inexact one left may be extraneous."""
        wanted = invocation.key(self.extra_variables, self.env)
        exact_instead = [EXACT_LINE if line == INEXACT_LINE else line for line in wanted]
        if self.key != wanted and self.key != exact_instead:
            return False
        return all(still_matches(path, entry) for path, entry in self.files.items())

    def dump(self) -> bytes:
        data = {
            "version": RECORD_VERSION,
            "env": self.env,
            "key": self.key,
            "extra_variables": self.extra_variables,
            "files": self.files,
            "summary": self.summary,
        }
        return marshal.dumps(data)

    @classmethod
    def parse(cls, raw: bytes) -> InputsRecord | None:
        try:
            data = marshal.loads(raw)
        except (ValueError, EOFError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            return None
        env, key, extra = data.get("env"), data.get("key"), data.get("extra_variables")
        files, summary = data.get("files"), data.get("summary")
        if not (
            isinstance(env, str)
            and isinstance(key, list)
            and isinstance(extra, list)
            and isinstance(files, dict)
            and isinstance(summary, dict)
            and all(isinstance(summary.get(name), str) for name in ("env", "python", "link_mode"))
            and all(_is_entry(entry) for entry in files.values())
        ):
            return None
        return cls(env, key, extra, files, summary)


def _is_entry(entry: object) -> bool:
    return entry is None or (
        isinstance(entry, tuple)
        and len(entry) == 4
        and all(isinstance(value, int) for value in entry[:3])
        and isinstance(entry[3], (str, int, type(None)))
    )


def record_path(env: str) -> str:
    return os.path.join(env, RECORD_NAME)


def load(env: str) -> InputsRecord | None:
    """The record in ``env`` if there is a valid one made for this env."""
    try:
        with open(record_path(env), "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    record = InputsRecord.parse(raw)
    return record if record is not None and record.env == env else None


def save(record: InputsRecord) -> None:
    """Write the record (quietly skipped if the env cannot take it: it is only a shortcut)."""
    from anyvenv.fs.atomic import atomic_write

    try:
        atomic_write(record_path(record.env), record.dump())
    except OSError:
        forget(record.env)


def forget(env: str) -> bool:
    """Drop the record before uv changes the env (a concurrent reader then runs uv too).
    Returns whether there was one (none: the last sync did not finish, or left none)."""
    from anyvenv.fs.atomic import unlink_while_open  # (it was read a moment ago: FUSE)

    try:
        unlink_while_open(record_path(env))
    except FileNotFoundError:
        return False
    except OSError:  # refused: changed inputs fail to match it
        pass
    return True

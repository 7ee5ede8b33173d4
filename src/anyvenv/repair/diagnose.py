"""``anyvenv check``: is this environment usable, and if not, why, in plain words.

Nothing here changes the environment: links are read, not followed blindly; the env's
python is started with ``-I -B`` (no .pyc written) only when its entry leads to a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.envbuild.config import (
    config_version,
    is_regular_or_missing,
    parse_pyvenv_cfg,
    read_config_bytes,
)
from anyvenv.envbuild.layout import interpreter_names, site_packages_path
from anyvenv.fs import CFG_NAME
from anyvenv.fs.outcome import errno_name
from anyvenv.fs.paths import same_file
from anyvenv.fs.together import run_together
from anyvenv.interpreter.linkage import Linkage, libpython_linkage
from anyvenv.record import field, mutable_record
from anyvenv.repair import running
from anyvenv.repair.activation import check_activation
from anyvenv.repair.base import BaseLookup, base_from_config
from anyvenv.repair.envstate import (
    Entry,
    EntryKind,
    inspect_entry,
    interpreter_entries,
    made_by,
    resolve_environment,
    site_versions,
)
from anyvenv.repair.findings import REINSTALL_CODES, Code, Finding, Severity, error, warning
from anyvenv.repair.looking import (
    asks_at_once as _answers_at_once,  # (its own name here: tests stand in for it)
)
from anyvenv.repair.package_files import check_package_files
from anyvenv.repair.packages import check_packages
from anyvenv.repair.scripts import ScriptState, check_scripts

NOBODY_ID = 65534


@mutable_record
class Diagnosis:
    """Everything ``check`` found; ``repair`` plans from it."""

    env: Path
    config: dict[str, str] | None
    made_by: str
    version: tuple[int, ...] | None
    free_threaded: bool
    base: BaseLookup | None
    entries: list[Entry]
    started: running.Started | running.Failed | None
    scripts: list[ScriptState] = field(default_factory=list)
    lib64: Entry | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def reinstall_only(self) -> bool:
        """Whether every error is one only a reinstall of its package mends (repair writes
        no package's files)."""
        return all(finding.code in REINSTALL_CODES for finding in self.errors)

    @property
    def fill_refused(self) -> bool:
        """Whether a fill a killed run left has a journal that cannot be read: repair does not
        act on it (see :func:`~anyvenv.repair.fixes.refuse_fills`)."""
        return any(
            f.code is Code.FILL_UNFINISHED and f.evidence.get("phase") == "unreadable"
            for f in self.errors
        )

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def has(self, *codes: Code) -> bool:
        return any(f.code in codes for f in self.findings)

    @property
    def version_text(self) -> str | None:
        return ".".join(map(str, self.version)) if self.version else None

    def to_json(self) -> dict[str, object]:
        started = self.started
        return {
            "path": os.fsdecode(self.env),
            "usable": self.usable,
            "made_by": self.made_by,
            "version": self.version_text,
            "base": self.base.info.executable if self.base and self.base.info else None,
            "python": None
            if not isinstance(started, running.Started)
            else {"version": started.version_text, "prefix": started.prefix},
            "findings": [f.to_json() for f in self.findings],
        }


def check(env: str | os.PathLike[str], package_files: bool = True) -> Diagnosis:
    """Diagnose the environment at ``env``. Raises :class:`anyvenv.errors.UsageError` when
    ``env`` is not an environment at all (missing, a file, no pyvenv.cfg), and
    :class:`anyvenv.errors.MadeOnWindows` for one made on Windows. ``package_files``: also
    compare each package's files with its RECORD (a stat each: seconds on a share for a
    large env; a caller after the errors alone skips it)."""
    return diagnose(resolve_environment(env), package_files)


def diagnose(env: Path, package_files: bool = True) -> Diagnosis:
    findings = _cut_fills(env)
    cfg = _read_config(env, findings)
    if os.path.lexists(env / "bin") and not os.path.isdir(env / "bin"):  # (a link to one: fine)
        findings.append(
            error(
                Code.BIN_NOT_A_DIRECTORY,
                "bin is not a directory: the environment has no interpreter or scripts",
                env / "bin",
            )
        )
    sites = site_versions(env)
    version = config_version(cfg or {})
    if len(sites) == 1 and (version is None or tuple(version[:2]) != sites[0][:2]):
        version = sites[0][:2]  # the one lib/pythonX.Y says whose packages these are
    # a free-threaded build's packages are in lib/pythonX.Yt (where both are, the default
    # build's lib/pythonX.Y holds what a default build reads)
    builds = {site[2] for site in sites if version and site[:2] == tuple(version[:2])}
    free_threaded = builds == {True}
    base = _check_base(cfg, version, free_threaded, findings) if cfg is not None else None
    wanted = interpreter_names(version, free_threaded)
    at_once = _answers_at_once(env)
    found = interpreter_entries(env, wanted, at_once)
    entries = [entry for entry in found if entry.path.name in wanted]
    _check_entries(entries, findings)
    _check_base_names(cfg or {}, base, entries, findings)
    _check_strays([entry for entry in found if entry.path.name not in wanted], findings)
    # what the interpreter does, and what the env's files are: apart, each finding in its own
    # list (said in this order), made at once where the env is on a share (each call a round
    # trip; the interpreter run first, in this thread)
    ran: list[Finding] = []
    of_scripts: list[Finding] = []
    of_packages: list[Finding] = []
    of_files: list[Finding] = []
    of_activation: list[Finding] = []
    started: running.Started | running.Failed | None = None
    lib64: Entry | None = None
    scripts: list[ScriptState] = []

    def run_interpreter() -> None:
        nonlocal started, lib64
        # python opens a FIFO or device named pyvenv.cfg and waits forever: not started then
        started = _start(entries) if is_regular_or_missing(env / CFG_NAME) else None
        if started is not None:
            _check_started(env, started, ran)
        _check_versions(cfg or {}, sites, base, started, entries, ran)
        _check_libpython(entries, base, started, ran)
        lib64 = _check_lib64(env, base, ran)

    def look_at_scripts() -> None:
        scripts.extend(check_scripts(env, of_scripts))

    calls = [run_interpreter, look_at_scripts, lambda: check_packages(env, sites, of_packages)]
    if package_files:
        calls.append(lambda: check_package_files(env, sites, of_files))
    calls.append(lambda: check_activation(env, of_activation))
    run_together(calls, at_once)
    for made in (ran, of_scripts, of_packages, of_files, of_activation):
        findings += made
    return Diagnosis(
        env=env,
        config=cfg,
        made_by=made_by(cfg or {}),
        version=version,
        free_threaded=free_threaded,
        base=base,
        entries=entries,
        started=started,
        scripts=scripts,
        lib64=lib64,
        findings=findings,
    )


def _cut_fills(env: Path) -> list[Finding]:
    """A fill of the env in place that a killed run left (:func:`~anyvenv.fs.inplace.cut_fills`):
    an error where it holds parts of two envs (or a journal that cannot be read), a warning
    where the new one is whole and only the old one and the journal are left beside it."""
    from anyvenv.fs.inplace import cut_fills

    return [
        (warning if found.finishes else error)(
            Code.FILL_UNFINISHED,
            f"{found.what}: {found.fix}",
            found.journal,
            phase=found.phase or "unreadable",
        )
        for found in cut_fills(os.fspath(env))
    ]


# -- config and base ---------------------------------------------------------------------------


def _read_config(env: Path, findings: list[Finding]) -> dict[str, str] | None:
    path = env / CFG_NAME
    try:
        raw = read_config_bytes(path)
    except OSError as exc:
        findings.append(
            error(
                Code.CONFIG_UNREADABLE,
                f"{CFG_NAME} cannot be read ({errno_name(exc.errno)}): python cannot tell it "
                "is in an environment",
                path,
                errno=errno_name(exc.errno),
            )
        )
        return None
    cfg = parse_pyvenv_cfg(raw.decode("utf-8", "surrogateescape"))
    if not cfg.get("home"):
        keys = ", ".join(sorted(key if key.isprintable() else repr(key) for key in cfg))[:200]
        keys = keys or "none"  # (a binary file's "keys" must not reach a terminal raw)
        findings.append(
            error(
                Code.CONFIG_NO_HOME,
                f"{CFG_NAME} has no 'home' line (keys found: {keys}): python cannot find its "
                "base installation and standard library",
                path,
                keys=keys,
                size=str(len(raw)),
            )
        )
    return cfg


def _check_base(
    cfg: dict[str, str],
    version: tuple[int, ...] | None,
    free_threaded: bool,
    findings: list[Finding],
) -> BaseLookup | None:
    home = cfg.get("home")
    if not home and not cfg.get("base-executable") and not cfg.get("executable"):
        return None
    lookup = base_from_config(cfg, version, free_threaded)
    if lookup.found:
        if home and lookup.info is not None and not _holds(home, lookup.info.executable):
            where = (
                "a directory that does not exist"
                if not os.path.isdir(home)
                else ("a directory without that interpreter")
            )
            findings.append(
                warning(
                    Code.HOME_STALE,
                    f"pyvenv.cfg's home {home} is {where}; the base is "
                    f"{lookup.info.executable}: what reads home (python -m venv in this "
                    "environment, uv, the standard library's own search) is misled",
                    home,
                    home=home,
                    base=lookup.info.executable,
                )
            )
        return lookup
    tried = "; ".join(f"{path} {why}" for path, why in lookup.failures.items())
    unreachable = _unreachable(home) if home else None
    if home and unreachable is not None:  # there, but this user may not enter it
        findings.append(
            error(
                Code.BASE_DOES_NOT_RUN,
                f"the base Python's directory {home} (pyvenv.cfg 'home') cannot be entered by "
                f"this user ({unreachable}): the interpreter cannot start",
                home,
                home=home,
                tried=tried,
            )
        )
    elif home and not os.path.isdir(home):
        findings.append(
            error(
                Code.HOME_MISSING,
                f"the base Python's directory {home} (pyvenv.cfg 'home') no longer exists: "
                "the interpreter has no standard library",
                home,
                home=home,
                tried=tried,
            )
        )
    else:
        present = [why for why in lookup.failures.values() if why != "does not exist"]
        other_version = bool(present) and all(why.startswith("is Python ") for why in present)
        code = Code.BASE_DOES_NOT_RUN if present else Code.BASE_MISSING
        if other_version:  # upgraded in place: it runs, as another X.Y (or build)
            build = " free-threaded build" if free_threaded else ""
            what = f"is now another version than the env's {_text(version or ())}{build}"
        else:
            what = "does not run" if present else "is missing"
        findings.append(
            error(
                code,
                f"the base Python named by pyvenv.cfg {what} ({tried})",
                home,
                tried=tried,
            )
        )
    return lookup


def _check_base_names(
    cfg: dict[str, str], base: BaseLookup | None, entries: list[Entry], findings: list[Finding]
) -> None:
    """A copied ``bin/python`` (or ``python3``) takes ``home/<its name>`` for its base
    (``sys._base_executable``; CPython 3.11+, falling back to ``python3`` then ``pythonX.Y``
    where that name is missing), which is another Python where the base's directory holds
    several (Ubuntu's deadsnakes ``python3.12`` beside ``python3``, 3.10): ``python -m venv``
    and ``uv venv -p`` run with it then make an env of that Python. A linked one is followed
    to its base instead."""
    home = cfg.get("home")
    if not home or base is None or base.info is None or base.info.version[:2] < (3, 11):
        return
    real = base.info.executable
    minor = f"python{base.info.version[0]}.{base.info.version[1]}"
    for entry in entries:
        name = entry.path.name
        if entry.kind is not EntryKind.FILE or name == minor or not name.startswith("python"):
            continue
        tried = [name, *(other for other in ("python3", minor) if other != name)]
        taken = next(
            (os.path.join(home, n) for n in tried if os.path.isfile(os.path.join(home, n))), None
        )
        if taken is None or same_file(taken, real):
            continue
        findings.append(
            warning(
                Code.BASE_NAMED_OTHERWISE,
                f"bin/{name} takes {taken} for its base Python (sys._base_executable), not "
                f"{real}: python -m venv, virtualenv or uv venv -p run with bin/{name} make "
                f"environments of that Python; run them with bin/{minor}",
                entry.path,
                taken=taken,
                base=real,
            )
        )


def _holds(home: str, executable: str) -> bool:
    """Whether the directory ``home`` holds the interpreter ``executable`` (by any of its
    names there: ``home`` may be a directory of links to it)."""
    if same_file(os.path.dirname(executable), home):
        return True
    try:
        names = [name for name in os.listdir(home) if name.startswith("python")]
    except OSError:
        return False
    return any(same_file(os.path.join(home, name), executable) for name in names)


def _unreachable(path: str) -> str | None:
    """Why ``path``, which may exist, cannot be reached (EACCES on the way, or at the
    directory itself: its stat needs only its parents, its entries need it); ``None`` if it
    can, or does not exist."""
    try:
        os.stat(os.path.join(path, "."))
    except PermissionError as exc:
        return exc.strerror
    except OSError:
        return None
    return None


# -- interpreter entries -------------------------------------------------------------------------


def _owner(path: Path) -> int | None:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return None


def _check_strays(strays: list[Entry], findings: list[Finding]) -> None:
    """Other ``python*`` names in bin/ (``python2``, another version's ``python3.11``): not
    this env's interpreter, so no error and nothing repair replaces; a broken link is said."""
    for entry in strays:
        if entry.kind is EntryKind.LINK and not entry.usable:
            findings.append(
                warning(
                    Code.INTERPRETER_STRAY,
                    f"bin/{entry.path.name} is a broken link, and not one of this "
                    "environment's interpreter names: left as it is (remove it if unused)",
                    entry.path,
                    target=entry.link_target or "",
                )
            )


def _check_entries(entries: list[Entry], findings: list[Finding]) -> None:
    by_name = {entry.path.name: entry for entry in entries}
    for index, entry in enumerate(entries):
        name = f"bin/{entry.path.name}"
        if entry.kind is EntryKind.MISSING:
            if index == 0:
                findings.append(
                    error(Code.INTERPRETER_MISSING, f"{name} does not exist", entry.path)
                )
            elif index < 3:  # python3, python3.X
                findings.append(
                    warning(
                        Code.INTERPRETER_MISSING,
                        f"{name} does not exist: tools that call it fail",
                        entry.path,
                    )
                )
            continue
        if entry.kind is EntryKind.OTHER:
            findings.append(
                error(
                    Code.INTERPRETER_MISSING,
                    f"{name} is not a file or a link"
                    + (f" ({entry.stat_error})" if entry.stat_error else ""),
                    entry.path,
                )
            )
            continue
        if entry.unreadable_link:
            evidence = {"readlink": entry.readlink_error or ""}
            owner = _owner(entry.path)
            nobody = owner == NOBODY_ID
            if owner is not None:
                evidence["owner_uid"] = str(owner)
            findings.append(
                error(
                    Code.INTERPRETER_LINK_UNREADABLE,
                    f"{name} is a symlink that cannot be read ({entry.readlink_error}"
                    f"{', owned by nobody' if nobody else ''}): the kernel cannot follow it, "
                    "so python cannot start",
                    entry.path,
                    **evidence,
                )
            )
            continue
        if entry.dangling_link:
            target = entry.link_target or ""
            sibling = by_name.get(target) if "/" not in target else None
            if sibling is not None and not sibling.usable:
                what = f"bin/{target}, which is broken"
            elif entry.stat_error == "ENOENT":
                what = f"{target}, which does not exist"
            else:
                what = f"{target}, which cannot be reached ({entry.stat_error})"
            findings.append(
                error(
                    Code.INTERPRETER_LINK_DANGLING,
                    f"{name} points to {what}",
                    entry.path,
                    target=target,
                    stat=entry.stat_error or "",
                )
            )
            continue
        if not entry.executable:
            findings.append(
                error(
                    Code.INTERPRETER_NOT_EXECUTABLE,
                    f"{name} has no execute permission",
                    entry.path,
                )
            )


def _start(entries: list[Entry]) -> running.Started | running.Failed | None:
    for entry in entries:
        if entry.usable:
            return running.start(entry.path)
    return None


def _check_started(
    env: Path, started: running.Started | running.Failed, findings: list[Finding]
) -> None:
    if isinstance(started, running.Failed):
        how = started.errno or f"exit code {started.returncode}"
        findings.append(
            error(
                Code.INTERPRETER_DOES_NOT_RUN,
                f"the environment's python does not start ({how}): {started.detail}",
                env / "bin",
                errno=started.errno or "",
                returncode="" if started.returncode is None else str(started.returncode),
                detail=started.detail,
            )
        )
        return
    if not same_file(started.prefix, env):
        findings.append(
            error(
                Code.INTERPRETER_NOT_IN_ENV,
                f"the environment's python runs with sys.prefix {started.prefix}, not this "
                "environment: its packages are not seen",
                env / "bin",
                prefix=started.prefix,
            )
        )
    if started.unloadable:
        findings.append(
            error(
                Code.STDLIB_OTHER_BUILD,
                f"the environment's python cannot load standard modules "
                f"({'; '.join(started.unloadable)}): the standard library it finds, at "
                f"{started.base_prefix} (pyvenv.cfg's home), is another build of Python "
                f"{started.version_text} than bin/python",
                env / "bin",
                base_prefix=started.base_prefix,
                modules=", ".join(name.split(" ", 1)[0] for name in started.unloadable),
            )
        )


# -- versions and libpython ----------------------------------------------------------------------


def _text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _site_directory(site: tuple[int, int, bool]) -> str:
    """``lib/pythonX.Y[t]``: the directory of an env's packages for that build."""
    return os.path.dirname(site_packages_path(site[:2], site[2]))


def _check_versions(
    cfg: dict[str, str],
    sites: list[tuple[int, int, bool]],
    base: BaseLookup | None,
    started: running.Started | running.Failed | None,
    entries: list[Entry],
    findings: list[Finding],
) -> None:
    cfg_version = config_version(cfg)
    if isinstance(started, running.Started):
        actual, threaded = started.version, started.free_threaded
        source = "the interpreter runs as"
    elif base is not None and base.info is not None:
        actual, threaded = base.info.version, base.info.free_threaded
        source = "its base interpreter is"
    else:
        return
    if cfg_version is not None:
        only_site = sites[0][:2] if len(sites) == 1 else None
        if tuple(cfg_version[:2]) != tuple(actual[:2]) and only_site == tuple(actual[:2]):
            findings.append(  # the packages and the interpreter agree: the config is wrong
                warning(
                    Code.VERSION_MISMATCH,
                    f"pyvenv.cfg says Python {_text(cfg_version)} but {source} "
                    f"{_text(actual)}, as the packages in lib/python{actual[0]}.{actual[1]} "
                    "are for: tools that read pyvenv.cfg (uv) are told the wrong version",
                    None,
                    config=_text(cfg_version),
                    interpreter=_text(actual),
                )
            )
            return
        if tuple(cfg_version[:2]) != tuple(actual[:2]):
            findings.append(
                error(
                    Code.VERSION_MISMATCH,
                    f"pyvenv.cfg says Python {_text(cfg_version)} but {source} {_text(actual)}: "
                    "the packages of this environment are not seen",
                    None,
                    config=_text(cfg_version),
                    interpreter=_text(actual),
                )
            )
            return
        if len(cfg_version) == 3 and tuple(cfg_version) != tuple(actual):
            findings.append(
                warning(
                    Code.VERSION_MISMATCH,
                    f"pyvenv.cfg says Python {_text(cfg_version)} but {source} {_text(actual)}: "
                    "tools that read pyvenv.cfg (uv) are told the wrong version",
                    None,
                    config=_text(cfg_version),
                    interpreter=_text(actual),
                )
            )
    looked_in = (actual[0], actual[1], threaded)
    if sites and looked_in not in sites:
        # (also where the config agrees with the interpreter: the packages are what count)
        where = ", ".join(_site_directory(site) for site in sites)
        build = ""
        if actual[:2] in [site[:2] for site in sites]:  # X.Y agree: the build does not
            kind = "free-threaded build" if threaded else "default build (not free-threaded)"
            build = f", a {kind} that reads {_site_directory(looked_in)},"
        findings.append(
            error(
                Code.VERSION_MISMATCH,
                f"{source} {_text(actual)}{build} but the packages are in {where}",
                None,
                interpreter=_text(actual),
            )
        )
    copied = any(entry.kind is EntryKind.FILE for entry in entries)
    if (
        copied
        and isinstance(started, running.Started)
        and base is not None
        and base.info is not None
        and base.info.version != started.version
    ):
        placed = {"hardlink": "hard-linked", "copy": "copied", "reflink": "copied"}.get(
            cfg.get("anyvenv-strategy", ""), "copied (or hard-linked)"
        )
        findings.append(
            error(
                Code.VERSION_MISMATCH,
                f"the {placed} interpreter is Python {started.version_text} but its base is now "
                f"{base.info.version_text}: extension modules of the base may fail to load",
                None,
                interpreter=started.version_text,
                base=base.info.version_text,
            )
        )


def _same_library(a: str, b: str) -> bool:
    if same_file(a, b):
        return True
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        return _digest(a) == _digest(b)
    except OSError:
        return False


def _digest(path: str) -> str:
    import hashlib  # here: OpenSSL costs start-up time, and most checks compare no files

    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _check_libpython(
    entries: list[Entry],
    base: BaseLookup | None,
    started: running.Started | running.Failed | None,
    findings: list[Finding],
) -> None:
    base_linkage: Linkage | None = None
    if base is not None and base.info is not None:
        base_linkage = libpython_linkage(base.info.executable)
    seen: set[tuple[int, int]] = set()
    for entry in entries:
        if entry.kind is not EntryKind.FILE or not entry.usable:
            continue
        st = os.stat(entry.path)
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        linkage = libpython_linkage(entry.path)
        name = f"bin/{entry.path.name}"
        if linkage.soname is not None and linkage.library is None:
            search = ":".join(linkage.dynamic.library_search_path) if linkage.dynamic else ""
            findings.append(
                error(
                    Code.LIBPYTHON_UNRESOLVED,
                    f"{name} needs {linkage.soname}, which is found nowhere"
                    + (f" (searched {search})" if search else ""),
                    entry.path,
                    needed=linkage.soname,
                    search_path=search,
                )
            )
            continue
        expected = base_linkage.library if base_linkage is not None else None
        if linkage.library and expected and not _same_library(linkage.library, expected):
            findings.append(
                error(
                    Code.LIBPYTHON_OTHER_BUILD,
                    f"{name} loads {linkage.library}, which is not the base's libpython "
                    f"({expected}): the standard library may break later (undefined symbols)",
                    entry.path,
                    loads=linkage.library,
                    expected=expected,
                )
            )
    if isinstance(started, running.Started) and base_linkage and base_linkage.library:
        expected = base_linkage.library
        wrong = [lib for lib in started.libpython if not _same_library(lib, expected)]
        reported = any(f.code is Code.LIBPYTHON_OTHER_BUILD for f in findings)
        if wrong and not reported:
            findings.append(
                error(
                    Code.LIBPYTHON_OTHER_BUILD,
                    f"the environment's python loaded {', '.join(wrong)} instead of the "
                    f"base's {expected}",
                    None,
                    loaded=", ".join(started.libpython),
                    expected=expected,
                )
            )


# -- lib64 ---------------------------------------------------------------------------


def _check_lib64(env: Path, base: BaseLookup | None, findings: list[Finding]) -> Entry | None:
    entry = inspect_entry(env / "lib64")
    if entry.kind is not EntryKind.LINK:
        return None
    needed = base is not None and base.info is not None and "lib64" in base.info.platlib
    make = error if needed else warning
    why = (
        "this Python keeps packages under lib64, so they are not found"
        if needed
        else "python does not need it, but tools that walk the environment (copies, backups) "
        "fail on it"
    )
    if entry.unreadable_link:
        findings.append(
            make(
                Code.LIB64_UNREADABLE,
                f"lib64 is a symlink that cannot be read ({entry.readlink_error}): {why}",
                entry.path,
                readlink=entry.readlink_error or "",
            )
        )
        return entry
    if entry.stat_error is not None or not same_file(env / "lib64", env / "lib"):
        findings.append(
            make(
                Code.LIB64_DANGLING,
                f"lib64 points to {entry.link_target}, not to lib: {why}",
                entry.path,
                target=entry.link_target or "",
                stat=entry.stat_error or "",
            )
        )
        return entry
    return None

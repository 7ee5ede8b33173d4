"""``anyvenv repair``, carried out: each change is atomic per file (built beside, renamed
into place), packages are never touched, and a healthy env is left byte for byte as it was.

The interpreter is placed in a staging directory inside the env first and started there
(with a copy of the env's pyvenv.cfg) before anything in bin/ is replaced.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.envbuild.builder import as_placed, place_interpreter_files
from anyvenv.envbuild.config import read_config_bytes
from anyvenv.envbuild.layout import EnvLayout
from anyvenv.envbuild.shebang import read_shebang, rewritten
from anyvenv.envbuild.validate import finish_check, start_check, verify
from anyvenv.errors import AnyvenvError, EnvironmentBroken
from anyvenv.fs import CFG_NAME, atomic, leftovers
from anyvenv.fs.lock import ShareLock
from anyvenv.fs.place import DATA_MODE, EXECUTABLE_MODE, Strategy, place_file
from anyvenv.killpoints import checkpoint
from anyvenv.repair.diagnose import Diagnosis, check, diagnose
from anyvenv.repair.envstate import EntryKind, inspect_entry
from anyvenv.repair.findings import PACKAGE_FILE_CODES
from anyvenv.repair.fixes import (
    Fix,
    FixKind,
    RepairPlan,
    config_prompt,
    describe_updates,
    edit_config_text,
    plan_repair,
    refuse_fills,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from anyvenv.envbuild.plan import InterpreterPlan

LOCK_NAME = ".anyvenv-repair.lock"


@dataclass(frozen=True)
class Change:
    """One thing repair did."""

    action: str  # "replaced", "created", "removed", "rewrote"
    path: Path
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "path": os.fsdecode(self.path), "detail": self.detail}


@dataclass
class RepairReport:
    env: Path
    dry_run: bool
    before: Diagnosis
    plan: RepairPlan
    changes: list[Change] = field(default_factory=list)
    after: Diagnosis | None = None

    @property
    def usable(self) -> bool:
        final = self.after if self.after is not None else self.before
        return final.usable

    def to_json(self) -> dict[str, object]:
        return {
            "path": os.fsdecode(self.env),
            "dry_run": self.dry_run,
            "usable_before": self.before.usable,
            "usable_after": None if self.after is None else self.after.usable,
            "findings_before": [f.to_json() for f in self.before.findings],
            "plan": self.plan.to_json(),
            "cannot": list(self.plan.cannot),
            "changes": [change.to_json() for change in self.changes],
            "findings_after": None
            if self.after is None
            else [f.to_json() for f in self.after.findings],
        }


def repair(
    env: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    declared: str | os.PathLike[str] | None = None,
    take_env_lock: bool = True,
    on_lock_wait: Callable[[str], object] | None = None,
    python_preference: str | Callable[[], str | None] | None = None,
    package_files: bool = True,
) -> RepairReport:
    """Fix the environment at ``env`` in place, keeping its packages. With ``dry_run`` only
    the plan is made. ``package_files``: also compare the packages' files with their RECORDs
    for the report (a stat each; a caller after the fixes alone skips it). The env's lock
    (beside ``declared``, the path a project names it by, else beside ``env``) is held
    meanwhile, so a sync of it waits; a caller that holds it
    already passes ``take_env_lock=False``. Raises :class:`anyvenv.errors.UsageError` for a
    path that is not an environment and :class:`EnvironmentBroken` for one that cannot be
    repaired. ``on_lock_wait`` is told when another process holds a lock for long.
    ``python_preference``: uv's, for a base looked up anew (default: ``UV_PYTHON_PREFERENCE``,
    else managed), or a function that works it out, called only if a base is looked up
    (``anyvenv repair`` passes the one of uv's settings where the env is declared)."""
    if dry_run or not take_env_lock or not os.fspath(env):
        return _repair(
            env, dry_run, on_lock_wait, python_preference, package_files
        )  # (an empty path: the check says so)
    from anyvenv.fs.lock import try_env_lock

    lock = try_env_lock(declared if declared is not None else env, on_lock_wait)
    if lock is None:  # a directory no one can lock in: no sync can either
        return _repair(env, dry_run, on_lock_wait, python_preference, package_files)
    try:
        return _repair(env, dry_run, on_lock_wait, python_preference, package_files)
    finally:
        lock.release()


def _repair(
    env: str | os.PathLike[str],
    dry_run: bool,
    on_lock_wait: Callable[[str], object] | None,
    preference: str | Callable[[], str | None] | None,
    package_files: bool,
) -> RepairReport:
    # a fill in place a killed run left, finished or undone first, as venv and sync do: what
    # it left half-way is not for repair to mend (the undo would then find it in its way)
    if dry_run:  # (a fill it would not act on is refused as the repair itself refuses it)
        if os.path.isdir(env):
            refuse_fills(env)
        finished = []
    else:
        finished = finish_fills(env)
    before = check(env, package_files)
    plan = plan_repair(before, preference)
    report = RepairReport(before.env, dry_run, before, plan, changes=finished)
    if not dry_run:  # what a killed repair left, also when nothing else is left to fix
        _refuse_links_out(plan)
        leftovers.recover(before.env / "bin")
        leftovers.sweep_dead(before.env, leftovers.TEMP_MARK, prefix=".lib64")
    if dry_run:
        return report
    if not plan.fixes:
        lock = before.env / LOCK_NAME
        if any(os.path.lexists(f"{lock}{end}") for end in ("", ".flock")):
            with ShareLock(
                lock, on_wait=on_lock_wait
            ):  # what a repair killed while holding it left: cleared
                pass
        return report
    try:
        with ShareLock(before.env / LOCK_NAME, on_wait=on_lock_wait):
            report.changes += apply_plan(plan)
            _keep_owner(before.env, report.changes)
    except OSError as exc:
        from anyvenv.fs.outcome import held_tree_fix, write_error_fix

        named = exc.filename2 or exc.filename  # (a rename's: the file it was to replace)
        named = _as_in_env(os.fsdecode(named), before.env) if named else named
        fix = held_tree_fix(exc, os.fspath(before.env), "the environment") or write_error_fix(
            exc.errno, ""
        )
        raise AnyvenvError(
            f"repair of {before.env} stopped: {exc.strerror or exc}"
            + (f" ({named})" if named else ""),
            (f"{fix}; " if fix else "")
            + "files changed so far are complete; run 'anyvenv check' to see what is left",
        ) from exc
    # (no fix touches a package's files: what the first look found of them stands)
    after = diagnose(before.env, package_files=False)
    after.findings += [item for item in before.findings if item.code in PACKAGE_FILE_CODES]
    report.after = after
    return report


def _as_in_env(path: str, env: Path) -> str:
    """The file of ``env`` that a path of a repair's staging copy stands for
    (``ENV/.bin.anyvenv-staging-*/bin/python``: ``ENV/bin/python``); others as they are."""
    root = os.path.join(os.fspath(env), "")
    first, _, rest = path[len(root) :].partition(os.sep) if path.startswith(root) else ("", "", "")
    return root + rest if leftovers.STAGING_MARK in first and rest else path


# fixes whose path is the directory they write in (bin/, site-packages), not a file
_FIXES_OF_A_DIRECTORY = frozenset(
    {FixKind.PLACE_INTERPRETER, FixKind.REWRITE_ACTIVATION, FixKind.ADD_MODE_SHIM}
)


def _refuse_links_out(plan: RepairPlan) -> None:
    """Raise :class:`EnvironmentBroken` where a directory repair would write in leads out of
    the env (``bin`` a link to ``/usr/local/bin``): repair, run as root on an env another
    user can change, writes only inside the env, and gives what it wrote to the env's owner."""
    from anyvenv.fs.paths import is_below

    env = plan.env
    real_env = os.path.realpath(env)
    directories: list[Path] = []
    for fix in plan.fixes:
        if fix.kind in _FIXES_OF_A_DIRECTORY:  # (its path: the directory written in)
            directories.append(fix.path)
        else:  # (its path: the file written)
            directories.append(fix.path.parent)
        if fix.kind is FixKind.PLACE_INTERPRETER:  # (and lib/, whose libpython it may drop)
            directories.append(env / "lib")
    for directory in directories:
        real = os.path.realpath(directory)
        if real != real_env and not is_below(real, real_env):
            raise EnvironmentBroken(
                f"{directory} leads out of the environment {env} (to {real}); repair changes "
                "files only inside an environment",
                f"make {directory} a directory of the environment's own, then repair it again",
            )


def _keep_owner(env: Path, changes: list[Change]) -> None:
    """Run as root on another user's env, the files repair wrote, and the directories it
    made for them, are given to the env's owner: root's files there would be theirs to use
    but not to change."""
    if os.geteuid() != 0:
        return
    owner = os.stat(env)
    if owner.st_uid == 0:
        return
    import contextlib

    made: set[Path] = set()
    for change in changes:
        made.add(change.path)
        parent = change.path.parent
        while parent != env and env in parent.parents:  # directories it made on the way
            made.add(parent)
            parent = parent.parent
    for path in made:  # (one gone again, or fixed owners (FAT, CIFS): as it is)
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid == 0:  # written or made by this repair
                os.lchown(path, owner.st_uid, owner.st_gid)


def finish_fills(env: str | os.PathLike[str]) -> list[Change]:
    """Finish or undo the fills of ``env`` in place that killed runs left
    (:func:`~anyvenv.fs.inplace.recover_inside`); a change for each. Raises
    :class:`~anyvenv.errors.UsageError` for one it will not act on
    (:func:`~anyvenv.repair.fixes.refuse_fills`; an undo whose names are taken), with
    nothing moved."""
    from anyvenv.fs.inplace import cut_fills, recover_inside

    path = os.path.abspath(os.fspath(env))
    if not os.path.isdir(path):
        return []  # (the check says what it is)
    found = cut_fills(path)
    refuse_fills(env, found)
    handled = recover_inside(path) if found else []
    return [
        Change("removed" if fill.finishes else "restored", Path(path), fill.cleared)
        for fill in found
        if fill.journal in handled
    ]


def apply_plan(plan: RepairPlan) -> list[Change]:
    changes: list[Change] = []
    for fix in plan.fixes:
        if fix.kind is FixKind.FINISH_FILL:  # (repair finishes them before it looks)
            changes += finish_fills(plan.env)
        elif fix.kind is FixKind.PLACE_INTERPRETER:
            changes += _place_interpreter(plan)
        elif fix.kind is FixKind.UPDATE_CONFIG:
            changes += _config_changes(plan)  # (as placed: see _config_as_placed)
        elif fix.kind is FixKind.REMOVE_LIB64:
            changes += _remove_lib64(fix)
        elif fix.kind is FixKind.RELINK_LIB64:
            changes.append(_relink_lib64(fix))
        elif fix.kind is FixKind.REWRITE_SHEBANG:
            changes += _rewrite_shebang(fix)
        elif fix.kind is FixKind.REWRITE_ACTIVATION:
            changes += _rewrite_activation(plan, fix)
        elif fix.kind is FixKind.MAKE_EXECUTABLE:
            changes += _make_executable(fix)
        elif fix.kind is FixKind.MOVE_EDITABLE:
            changes += _move_editable(fix)
        elif fix.kind is FixKind.ADD_MODE_SHIM:
            changes += _add_mode_shim(fix)
    return changes


def _add_mode_shim(fix: Fix) -> list[Change]:
    from anyvenv.envbuild.modeshim import SHIM_PTH, add_mode_shim

    if not add_mode_shim(os.fspath(fix.path)):
        return []  # (added since the diagnosis)
    return [Change("created", fix.path / SHIM_PTH, fix.description)]


# -- interpreter ---------------------------------------------------------------------------------


def _describe(path: Path) -> str:
    entry = inspect_entry(path)
    if entry.unreadable_link:
        return f"an unreadable link ({entry.readlink_error})"
    if entry.dangling_link:
        return f"a dangling link to {entry.link_target}"
    if entry.kind is EntryKind.LINK:
        return f"a link to {entry.link_target}"
    if entry.kind is not EntryKind.FILE:
        return str(entry.kind.value)
    return "a hard link" if _linked_from_outside(path) else "a copy"


def _linked_from_outside(path: Path) -> bool:
    """Whether the file at ``path`` has names outside its directory (a hard link to the base;
    a copy's other names, python3 beside python, are in the same directory)."""
    try:
        st = os.lstat(path)
        inside = 0
        with os.scandir(path.parent) as entries:
            for entry in entries:
                other = entry.stat(follow_symlinks=False)
                inside += (other.st_ino, other.st_dev) == (st.st_ino, st.st_dev)
    except OSError:
        return False
    return st.st_nlink > inside


def _place_interpreter(plan: RepairPlan) -> list[Change]:
    info, linkage, placement = plan.base, plan.linkage, plan.interpreter
    assert info is not None and linkage is not None and placement is not None
    env = plan.env
    bin_dir = env / "bin"
    leftovers.recover(bin_dir)
    bin_dir.mkdir(exist_ok=True)
    with atomic.staging_directory(bin_dir) as staging_dir:
        staging = Path(staging_dir)
        layout = EnvLayout(staging_dir, info)
        os.mkdir(layout.bin)
        expected = place_interpreter_files(layout, placement, info.executable, linkage)
        # a planned hard link that crossed mounts (EXDEV) was copied: recorded as a copy, as
        # venv records it (pyvenv.cfg, what --json says was done)
        planned, placement = placement, as_placed(placement, layout, linkage, expected)
        plan.interpreter = placement
        _place_extras(layout, plan.interpreter_names, placement.strategy)
        _config_as_placed(plan, placement)
        config = _config_text(plan)
        atomic.atomic_write(staging / CFG_NAME, config.encode("utf-8", "surrogateescape"))
        try:
            facts = finish_check(start_check(layout.python))
        except EnvironmentBroken as exc:
            raise EnvironmentBroken(
                f"the interpreter placed by {placement.strategy.value} does not run here: "
                f"{exc.message}",
                "nothing in the environment was changed",
            ) from exc
        verify(facts, staging, info, expected)
        crossed = placement.reason[len(planned.reason) :] if placement != planned else ""
        changes = _move_into(staging, env, placement.strategy, crossed)
    if placement != planned and not any(fix.kind is FixKind.UPDATE_CONFIG for fix in plan.fixes):
        changes += _config_changes(plan)  # (else that fix writes them, after this one)
    return changes + _drop_unused_libpython(plan)


def _config_as_placed(plan: RepairPlan, placed: InterpreterPlan) -> None:
    """The config updates of ``plan`` with its ``anyvenv-*`` keys (where pyvenv.cfg has them)
    saying what was ``placed``, not what was planned; none that would change nothing."""
    cfg = plan.diagnosis.config or {}
    for key, value in (
        ("anyvenv-strategy", placed.strategy.value),
        ("anyvenv-libpython", placed.library.value),
    ):
        if key in cfg and cfg[key] != value:
            plan.config_updates[key] = value
        else:
            plan.config_updates.pop(key, None)


def _config_changes(plan: RepairPlan) -> list[Change]:
    """pyvenv.cfg rewritten with ``plan``'s updates, where there are any (a placement that
    is not the one planned, where no config fix was planned)."""
    if not plan.config_updates:
        return []
    path = plan.env / CFG_NAME
    mode = stat.S_IMODE(os.stat(path).st_mode)
    atomic.atomic_write(path, _config_text(plan).encode("utf-8", "surrogateescape"), mode)
    return [Change("rewrote", path, describe_updates(plan.config_updates))]


def _drop_unused_libpython(plan: RepairPlan) -> list[Change]:
    """The libpython an earlier placement put in the env's ``lib/`` (a copy or hard link of
    its base's), once the interpreter placed now loads the base's own: removed (it would stay
    as megabytes of another release, which nothing loads)."""
    from anyvenv.envbuild.plan import LibraryPlacement

    placement = plan.interpreter
    assert placement is not None
    was = (plan.diagnosis.config or {}).get("anyvenv-libpython")
    own = (LibraryPlacement.COPY.value, LibraryPlacement.HARDLINK.value)
    if was not in own or placement.library.value in own:
        return []
    lib = plan.env / "lib"
    try:
        names = sorted(os.listdir(lib))
    except OSError:
        return []
    changes = []
    for name in names:
        path = lib / name
        if name.startswith("libpython") and ".so" in name and stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
            changes.append(Change("removed", path, "no longer loaded: the base's own is"))
    return changes


def _place_extras(layout: EnvLayout, names: list[str], strategy: Strategy) -> None:
    """Other broken ``python*`` names found in bin/: placed like python's siblings."""
    first = os.path.join(layout.bin, layout.executable_names()[0])
    for name in names:
        path = os.path.join(layout.bin, name)
        if os.path.lexists(path):
            continue
        if strategy is Strategy.SYMLINK:
            os.symlink(os.path.basename(first), path)
            continue
        try:
            os.link(first, path)
        except OSError:
            place_file(first, path, Strategy.COPY, mode=EXECUTABLE_MODE)


def _move_into(staging: Path, env: Path, strategy: Strategy, why: str = "") -> list[Change]:
    """Rename every placed file over its counterpart in the env (one rename each); ``why``
    ends each change's words (``"; a hard link crossed mounts..."``)."""
    changes: list[Change] = []
    for root, dirs, files in os.walk(staging):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            source = Path(root) / name
            relative = source.relative_to(staging)
            if relative == Path(CFG_NAME):
                continue
            destination = env / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            existed = os.path.lexists(destination)
            before = _describe(destination) if existed else ""
            os.replace(source, destination)
            checkpoint("repair:replaced:" + name)
            how = "link" if strategy is Strategy.SYMLINK else strategy.value
            changes.append(
                Change(
                    "replaced" if existed else "created",
                    destination,
                    f"was {before}, now placed by {how}{why}"
                    if existed
                    else f"placed by {how}{why}",
                )
            )
    return changes


# -- config, lib64, scripts ------------------------------------------------------------------------


def _config_text(plan: RepairPlan) -> str:
    text = read_config_bytes(plan.env / CFG_NAME).decode("utf-8", "surrogateescape")
    return edit_config_text(text, plan.config_updates) if plan.config_updates else text


def _remove_lib64(fix: Fix) -> list[Change]:
    try:
        st = os.lstat(fix.path)
    except FileNotFoundError:
        return []
    if not stat.S_ISLNK(st.st_mode):
        return []  # a real directory: never removed
    os.unlink(fix.path)
    return [Change("removed", fix.path, fix.description)]


def _relink_lib64(fix: Fix) -> Change:
    temp = fix.path.with_name(f".lib64{leftovers.TEMP_MARK}{leftovers.leftover_tag()}")
    os.symlink("lib", temp)
    try:
        os.replace(temp, fix.path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    return Change("replaced", fix.path, "now lib64 -> lib")


def _rewrite_shebang(fix: Fix) -> list[Change]:
    shebang = read_shebang(fix.path)
    if shebang is None or shebang.interpreter != fix.details["old"]:
        return []  # changed since the diagnosis: leave it
    data = fix.path.read_bytes()
    mode = stat.S_IMODE(os.stat(fix.path).st_mode) | 0o111
    atomic.atomic_write(fix.path, rewritten(data, shebang, fix.details["new"]), mode)
    return [Change("rewrote", fix.path, fix.description)]


def _make_executable(fix: Fix) -> list[Change]:
    """The script written anew (one rename) with its exec bits given at creation: that holds
    where chmod is ignored or fails, as the file keeps the mode it was created with."""
    if os.access(fix.path, os.X_OK):
        return []  # changed since the diagnosis: leave it
    data = fix.path.read_bytes()
    mode = stat.S_IMODE(os.stat(fix.path).st_mode) | 0o111
    atomic.atomic_write(fix.path, data, mode)
    return [Change("rewrote", fix.path, "now executable")]


def _move_editable(fix: Fix) -> list[Change]:
    """An editable install's file with the old project's paths made the new project's."""
    from anyvenv.repair.envstate import with_root_moved

    try:
        data = fix.path.read_bytes()
    except OSError:
        return []  # gone since the diagnosis: nothing to do
    moved = with_root_moved(data, fix.details["old"], fix.details["new"])
    if moved == data:
        return []
    atomic.atomic_write(fix.path, moved, stat.S_IMODE(os.stat(fix.path).st_mode))
    return [Change("rewrote", fix.path, fix.description)]


def _renamed_path(text: bytes, old: bytes, new: bytes) -> bytes | None:
    """``text`` with ``old`` (a path) made ``new``; ``None`` if no ``old`` is left in it. The
    ``new`` already there is kept as it is (a second run, or ``old`` being the start of it)."""
    mark = b"\0anyvenv-new-path\0"
    masked = text.replace(new, mark) if old in new else text
    if old not in masked:
        return None
    return masked.replace(old, new).replace(mark, new)


# activation scripts of uv and virtualenv that anyvenv does not write itself
OTHER_ACTIVATION_SCRIPTS = ("activate.xsh", "activate.bat", "deactivate.bat", "activate.pth")


def _rewrite_activation(plan: RepairPlan, fix: Fix) -> list[Change]:
    """Activation scripts for the env where it is now, each file replaced in one rename. For a
    moved env whose path is plain, the scripts there keep what they hold (the tool's own, the
    user's additions) with the old path made the new one; otherwise anyvenv's (every
    shell's), with the prompt pyvenv.cfg names, else the env's name."""
    from anyvenv.envbuild.activation import render_activation_scripts
    from anyvenv.repair.activation import activated_dir

    if "empty" in fix.details:
        return _write_empty_activation(plan, fix.details["empty"].split("\n"))
    if activated_dir(plan.env) != (fix.details["old"] or None):
        return []  # changed since the diagnosis: leave it
    env = os.fspath(plan.env)
    prompt = _prompt(plan)
    changes = []
    scripts = render_activation_scripts(env, prompt)
    old = fix.details["old"]
    if old:  # other tools' scripts anyvenv does not write (xonsh's, cmd's) name it literally
        for name in OTHER_ACTIVATION_SCRIPTS:
            if name not in scripts:
                changes += _renamed_in_script(plan.env / "bin" / name, old, env)
    # bin/activate last: it is what the diagnosis reads, so a kill before it is redone whole
    for name in sorted(scripts, key=lambda name: name == "activate"):
        path = plan.env / "bin" / name
        if old and _plain_path(env):  # a moved env: its own scripts, the user's edits kept
            renamed = _renamed_in_script(path, old, env)
            changes += renamed
            if renamed or name != "activate":
                continue  # (one that is missing or names no path, activate_this.py: as it is)
        atomic.atomic_write(path, scripts[name], DATA_MODE)  # sourced, not run
        changes.append(Change("rewrote", path, f"activates {env}"))
    return changes


def _prompt(plan: RepairPlan) -> str:
    """The prompt the env's activation scripts show: pyvenv.cfg's, else the env's name."""
    return config_prompt(plan.diagnosis.config or {}) or os.path.basename(plan.env)


def _write_empty_activation(plan: RepairPlan, names: list[str]) -> list[Change]:
    """anyvenv's activation scripts ``names`` for the env where it is, each written where it
    is still empty (0 bytes: what a crash left); one changed since the diagnosis is left."""
    from anyvenv.envbuild.activation import render_activation_scripts

    env = os.fspath(plan.env)
    prompt = _prompt(plan)
    scripts = render_activation_scripts(env, prompt)
    changes = []
    for name in sorted(names, key=lambda name: name == "activate"):  # (as the rewrite above)
        path = plan.env / "bin" / name
        if name not in scripts or path.is_symlink() or not path.is_file() or path.stat().st_size:
            continue
        atomic.atomic_write(path, scripts[name], DATA_MODE)
        changes.append(Change("rewrote", path, f"was empty; activates {env}"))
    return changes


def _renamed_in_script(path: Path, old: str, new: str) -> list[Change]:
    """The script at ``path`` (a regular file) with the path ``old`` made ``new`` in it, its
    mode and everything else kept; nothing where it is missing, a link, or names no ``old``."""
    if path.is_symlink() or not path.is_file():
        return []
    moved = _renamed_path(path.read_bytes(), os.fsencode(old), os.fsencode(new))
    if moved is None:
        return []
    atomic.atomic_write(path, moved, path.stat().st_mode & 0o7777)
    return [Change("rewrote", path, f"names {new} instead of {old}")]


def _plain_path(path: str) -> bool:
    """Whether ``path`` can stand in for another in any tool's quoting (a shell's double or
    single quotes, fish's, csh's, PowerShell's): no quote, ``$``, backquote, backslash, ``!``
    or control character in it. Other paths get anyvenv's own scripts, quoted for each."""
    return not any(char in "\"'$`\\!" or not char.isprintable() for char in path)

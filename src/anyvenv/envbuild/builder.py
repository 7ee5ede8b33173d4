"""Create a virtual environment as a short pipeline of named, overridable steps.

    prepare -> probe -> plan -> stage -> directories -> (mode shim) -> interpreter -> config
    -> (check starts) -> scripts -> (check ends) -> seed -> (shebangs fixed) -> commit

On a share whose probe :func:`~anyvenv.fs.probe.start_probe` began and is still measuring
(:func:`~anyvenv.fs.probe.probe_pending`), :class:`EnvBuilder` itself (not a subclass, whose
steps are called as above) writes what does not depend on the probe's answer meanwhile:

    prepare -> stage -> bin/, site-packages, scripts -> probe -> plan -> (lib64 link)
    -> (mode shim) -> interpreter -> config -> (check) -> seed -> (shebangs fixed) -> commit

A failure to write those waits for the probe: its refusal of the place is said first, as when
it answered before anything was written.

Everything is built in a staging directory beside the target and renamed into place, so an
interruption leaves the old state or a complete env, never half of one.

A caller with more work to do (``anyvenv sync`` runs uv next) may let the check of an env whose
python is a symlink to the base (what ``uv venv`` makes, on a filesystem that reads links back)
run after the commit, alongside that work: :attr:`EnvOptions.defer_linked_check`.
"""

from __future__ import annotations

import errno
import os
import stat
import time

from anyvenv import __version__
from anyvenv.envbuild.config import (
    MADE_BY_KEY,
    abandoned_env,
    render_pyvenv_cfg,
)
from anyvenv.envbuild.layout import EnvLayout
from anyvenv.envbuild.plan import InterpreterPlan, LibraryPlacement, find_patchelf, plan_interpreter
from anyvenv.envbuild.validate import finish_check, start_check, verify
from anyvenv.errors import (
    NO_OPTIONS,
    AnyvenvError,
    DirectoryNotWritable,
    EnvironmentBroken,
    OptionWords,
    UsageError,
)
from anyvenv.fs import CFG_NAME, atomic, inplace, is_virtual_environment, leftovers
from anyvenv.fs.outcome import errno_name
from anyvenv.fs.parents import make_missing, remove_made
from anyvenv.fs.paths import through_directory_link
from anyvenv.fs.place import (
    DATA_MODE,
    EXECUTABLE_MODE,
    Strategy,
    create_file,
    place_file,
    sync_directory,
    sync_file,
)
from anyvenv.fs.probe import ProbeResult, probe, probe_pending
from anyvenv.interpreter.linkage import Linkage, libpython_linkage
from anyvenv.interpreter.query import InterpreterInfo
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable

# Paths are strings on this path: importing pathlib (or dataclasses, subprocess, tempfile,
# contextlib) costs more start-up time than creating the environment.

GITIGNORE = b"# created by anyvenv automatically\n*\n"
CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by anyvenv.\n"
)


@record
class EnvOptions:
    prompt: str | None = None
    system_site_packages: bool = False
    seed: bool = False
    seed_index_args: tuple[str, ...] = ()  # uv's index options, for seeding from an index
    strategy: Strategy | None = None  # None: decide from the probe
    clear: bool = True  # replace an environment already there (False: a UsageError)
    # without ``clear``, asked whether to replace an environment found there (``anyvenv venv``
    # on a terminal asks the user, as uv venv does); None: refuse
    confirm_replace: Callable[[str], bool] | None = None
    validate: bool = True
    # a symlinked env's check starts after the commit and the caller finishes it
    # (EnvBuilder.pending_check); copied or linked interpreters are always checked before
    defer_linked_check: bool = False
    # an env replaced is kept beside the new one under a retired name (EnvInfo.kept_old), for
    # the caller to put back or remove (see anyvenv.fs.atomic.commit_keeping)
    keep_replaced: bool = False
    # how the caller's front end names its options (``clear``, ``strategy``, ``seed``) in the
    # hints of the errors raised here: the command line's or create()'s; none by default
    words: OptionWords = NO_OPTIONS


@record
class EnvInfo:
    """What was made: returned by :func:`anyvenv.create` and printed by ``anyvenv venv``."""

    path: str
    python: str
    base_executable: str
    version: str
    strategy: Strategy
    libpython: LibraryPlacement
    lib64: bool
    reason: str
    replaced: bool
    seeded: tuple[str, ...] = ()
    seconds: float = 0.0
    # said when some of the replaced env could not be removed (files of another owner)
    old_env_remains: str | None = None
    # where the replaced env was kept (EnvOptions.keep_replaced); not in to_json
    kept_old: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "path": os.fsdecode(self.path),
            "python": os.fsdecode(self.python),
            "base_executable": self.base_executable,
            "version": self.version,
            "strategy": self.strategy.value,
            "libpython": self.libpython.value,
            "lib64": self.lib64,
            "reason": self.reason,
            "replaced": self.replaced,
            "seeded": list(self.seeded),
            "seconds": round(self.seconds, 4),
            "old_env_remains": self.old_env_remains,
        }


class PendingCheck:
    """The check of a committed env, running; :meth:`finish` raises
    :class:`EnvironmentBroken` if its python is not what was built."""

    def __init__(self, env: str, info: InterpreterInfo, expected_lib: str | None) -> None:
        self.env = env
        self.info = info
        self.expected_lib = expected_lib
        self.child = start_check(EnvLayout(env, info).python)

    def finish(self) -> None:
        verify(finish_check(self.child), self.env, self.info, self.expected_lib)

    def cancel(self) -> None:
        self.child.kill()


def no_directory_refusal(target: str) -> UsageError | None:
    """Why an env cannot be made at ``target``, a link to no directory or a file (a link to
    a directory is followed first, as uv builds through it); ``None`` when it is neither."""
    if os.path.islink(target):
        try:
            pointed = os.readlink(target)
        except OSError as exc:  # (sshfs, CIFS: a link owned by nobody)
            refused = UsageError(
                f"{target} is a symbolic link that cannot be read back ({errno_name(exc.errno)})",
                "remove the link, or make it name a directory",
            )
            refused.__cause__ = exc
            return refused
        what = "a file" if os.path.exists(target) else "missing (or a link loop)"
        return UsageError(
            f"{target} is a symbolic link to {pointed}, which is {what}, not a directory",
            "remove the link, or make it name a directory",
        )
    if os.path.lexists(target) and not os.path.isdir(target):
        return UsageError(
            f"{target} exists and is not a directory", "choose another path for the environment"
        )
    return None


def not_an_environment(target: str) -> UsageError:
    """The refusal of a directory that holds files and is no env: nothing of it is replaced."""
    return UsageError(
        f"{target} exists, is not empty and is not a virtual environment",
        "refusing to replace it: choose another path or empty it yourself",
    )


def refusal(target: str) -> UsageError | None:
    """What making an env at ``target`` stops on, read only (for advice: the leftovers of a
    killed run, which a build recovers first, are not looked at): a link to no directory, a
    file, a directory holding files that is no env nor what uv left of one."""
    target = through_directory_link(target)
    refused = no_directory_refusal(target)
    if refused is not None or not os.path.isdir(target) or is_virtual_environment(target):
        return refused
    if abandoned_env(target) or not _holds_a_file(target):
        return None
    return not_an_environment(target)


def _holds_a_file(directory: str) -> bool:
    """Whether anything but directories is under ``directory`` (a build removes those)."""
    for root, subdirs, files in os.walk(directory):
        if files or any(os.path.islink(os.path.join(root, name)) for name in subdirs):
            return True
    return False


class EnvBuilder:
    """One creation. Subclass and override a step to change it."""

    def __init__(
        self, target: str | os.PathLike[str], info: InterpreterInfo, options: EnvOptions
    ) -> None:
        self.target = os.path.abspath(target)
        self.named = self.target  # as given: a link to the directory stays a link (activation)
        self.info = info
        self.options = options
        self.linkage: Linkage = libpython_linkage(info.executable)
        self.created_parents: list[str] = []
        self.pending_check: PendingCheck | None = None  # see EnvOptions.defer_linked_check
        self.in_place = False  # filled where it is (anyvenv.fs.inplace), not renamed into place
        self.remains: atomic.Remains | None = None  # of the env replaced, if not all removed
        self.replaced_python: os.stat_result | None = None  # the python of the env replaced
        self.kept_old: str | None = None  # the env replaced, kept (EnvOptions.keep_replaced)

    # -- the pipeline ------------------------------------------------------------------------

    def build(self) -> EnvInfo:
        started = time.perf_counter()
        replaced = self.prepare()
        try:
            # on a share whose probe was started early and still measures it, what does not
            # depend on its answer is written meanwhile (EnvBuilder's own steps only: a
            # subclass's are called as they always are)
            ahead = type(self) is EnvBuilder and probe_pending(self.landing)
            plan = None if ahead else self.plan(self.probe())
            with atomic.staging_directory(
                self.target,
                inside=self.in_place,
                on_failure=self._refuse_once_probed if ahead else self._refuse_a_refused_name,
            ) as staging:
                layout = EnvLayout(staging, self.info)
                if plan is None:
                    plan = self._write_ahead_then_plan(layout)
                else:
                    self.make_directories(layout, plan)
                if plan.mode_shim:
                    self.write_mode_shim(layout)
                expected_lib = self.place_interpreter(layout, plan)
                plan = as_placed(plan, layout, self.linkage, expected_lib)
                self.write_config(layout, plan)
                deferred = self.options.validate and self._defers_check(plan)
                checked = self.options.validate and not deferred
                # (while the scripts are written; a subclass's later steps may change what
                # runs, so its env is checked once they are done)
                early = checked and type(self) is EnvBuilder
                check = start_check(layout.python) if early else None
                try:
                    if not ahead:  # (else written already)
                        self.write_scripts(layout)
                    if early:  # (waits only for the disk: done while the check runs)
                        self.make_durable(layout, expected_lib)
                except BaseException:  # (its outcome, not the check's: a Ctrl-C reached both)
                    if check is not None:
                        check.kill()
                    raise
                facts = finish_check(check) if check is not None else None
                if facts is not None:
                    verify(facts, staging, self.info, expected_lib)
                seeded = self.seed(layout, plan) if self.options.seed else []
                if seeded:  # before the commit: a crash must not leave scripts run by staging
                    fix_shebangs(layout.bin, staging, self.target)
                if checked and not early:
                    last = finish_check(start_check(layout.python))
                    verify(last, staging, self.info, expected_lib)
                if not early:  # (a subclass's steps may have changed what it syncs)
                    self.make_durable(layout, expected_lib)
                self.commit(staging)
        except BaseException:
            self._remove_created_parents()
            raise
        if not self.in_place:  # (a fill syncs its directory itself: anyvenv.fs.inplace)
            sync_directory(os.path.dirname(self.target))  # the rename that put it in place
        if self.replaced_python is not None:  # (once in place: fusefat's rename resets times)
            _time_apart(os.path.join(self.target, "bin"), self.replaced_python)
        if deferred:
            try:
                self.pending_check = PendingCheck(self.target, self.info, expected_lib)
            except BaseException:
                inplace.remove_or_empty(self.target)  # ours, just made; its python cannot start
                if self.kept_old is not None and not os.path.lexists(self.target):
                    os.rename(self.kept_old, self.target)  # the env it replaced, back
                raise
        final = EnvLayout(self.target, self.info)
        return EnvInfo(
            path=self.target,
            python=final.python,
            base_executable=plan.base,
            version=self.info.version_text,
            strategy=plan.strategy,
            libpython=plan.library,
            lib64=plan.lib64_link,
            reason=plan.reason,
            replaced=replaced,
            seeded=tuple(seeded),
            seconds=time.perf_counter() - started,
            old_env_remains=None if self.remains is None else self.remains.message("environment"),
            kept_old=self.kept_old,
        )

    def _defers_check(self, plan: InterpreterPlan) -> bool:
        return (
            self.options.defer_linked_check
            and plan.strategy is Strategy.SYMLINK
            and not self.options.seed
            and not self.in_place  # a failed late check removes the env: a rename's, not this
        )

    def _refuse_a_refused_name(self, staging: str, failure: OSError) -> None:
        """A :class:`UsageError` where the staging directory cannot be made because its name,
        the env's with a suffix, is one the filesystem refuses."""
        if failure.errno == errno.ENAMETOOLONG:
            raise path_too_long(self.target, failure) from failure
        if atomic.name_refused(staging, failure):
            raise atomic.name_refusal(self.target, failure) from failure

    def _refuse_once_probed(self, staging: str, failure: OSError) -> None:
        """:meth:`_refuse_a_refused_name`, once the probe started early has answered and the
        plan is made: their refusal of the place (it may not be written, nothing runs there,
        the mount does not answer...) is what is said, as when they came first."""
        self.plan(self.probe())
        self._refuse_a_refused_name(staging, failure)

    def _write_ahead_then_plan(self, layout: EnvLayout) -> InterpreterPlan:
        """The directories and files that do not depend on the probe's answer (bin/,
        site-packages, the activation scripts, .gitignore, CACHEDIR.TAG), written while the
        probe started early measures the place (each a round trip or more on a share); then
        its answer, the plan, and what the plan decides of the directories (the lib64 link).
        A failure to write waits for the answer, whose refusal of the place is said first."""
        try:
            self._make_plain_directories(layout)
            self.write_scripts(layout)
        except Exception:  # (as when it came first: the probe's or the plan's refusal, if any)
            self.plan(self.probe())
            raise
        plan = self.plan(self.probe())
        if plan.lib64_link:
            self._link_lib64(layout)
        return plan

    def prepare(self) -> bool:
        """Check the target; clear leftovers of killed runs; create missing parents.
        Returns whether an existing environment will be replaced."""
        self.target = through_directory_link(self.target)  # as uv: the directory it names
        target = self.target
        if self.options.seed:
            from anyvenv.envbuild.seed import check_seedable

            check_seedable(target, self.options.words)
        refused = no_directory_refusal(target)
        if refused is not None:
            raise refused
        _check_name_length(target)
        leftovers.recover(target)  # a killed run may have left the old env renamed aside
        replaced = False
        if os.path.isdir(target):
            inplace.recover_inside(target)  # or half moved into a directory it fills in place
            names = os.listdir(target)
            if is_virtual_environment(target):
                confirm = self.options.confirm_replace
                if not self.options.clear and not (confirm is not None and confirm(target)):
                    clear = self.options.words.option("clear")
                    raise UsageError(
                        f"a virtual environment already exists at {target}",
                        f"use {clear} to replace it"
                        if clear
                        else "choose another path, or remove it first",
                    )
                _refuse_another_users(target)
                replaced = True
                self.replaced_python = _stat_or_none(os.path.join(target, "bin", "python"))
            elif names and abandoned_env(target):  # what uv left of a venv it gave up on
                inplace.remove_or_empty(target)
                names = []
            elif names and target in leftovers.undo_cut_move(target, names):
                names = []  # a fill file by file killed part-way (its staging tree gone since)
            elif names and not inplace.prune_if_only_directories(target):
                moving = leftovers.cut_move(target, names)
                if moving is not None:  # one under way, or of another host's run
                    raise leftovers.cut_move_error(target, moving)
                raise not_an_environment(target)
            else:
                names = []  # empty, or only empty directories, now removed
            # a mount point, the working directory, an empty directory: filled, not replaced
            self.in_place = os.path.isdir(target) and inplace.keeps_identity(target, names)
        self._make_parents(os.path.dirname(target))
        return replaced

    @property
    def landing(self) -> str:
        """The directory whose filesystem the env's files land on: the target's own when
        filled in place (a mount point is another filesystem than its parent's)."""
        return self.target if self.in_place else os.path.dirname(self.target)

    def probe(self) -> ProbeResult:
        where = self.landing
        try:
            return probe(where)
        except DirectoryNotWritable as exc:  # its class kept: read_only, reason
            raise exc.reworded(f"cannot create an environment in {where}: {exc.reason}") from exc
        except UsageError as exc:
            cause = exc.__cause__  # (the probe's files beside it pass the limit: the env's would)
            if isinstance(cause, OSError) and cause.errno == errno.ENAMETOOLONG:
                raise path_too_long(self.target, cause) from cause
            raise exc.reworded(f"cannot create an environment in {where}: {exc.message}") from exc

    def plan(self, result: ProbeResult) -> InterpreterPlan:
        return plan_interpreter(
            result,
            self.info,
            self.linkage,
            self.landing,  # (a hard link to the base works only on the base's filesystem)
            forced=self.options.strategy,
            words=self.options.words,
        )

    def make_directories(self, layout: EnvLayout, plan: InterpreterPlan) -> None:
        self._make_plain_directories(layout)
        if plan.lib64_link:
            self._link_lib64(layout)

    def _make_plain_directories(self, layout: EnvLayout) -> None:
        """bin/ and site-packages (and platlib, where it is another): what every env has."""
        os.mkdir(layout.bin)
        _make_new_dirs(layout.root, layout.site_packages)
        if layout.platlib != layout.site_packages:
            _make_new_dirs(layout.root, layout.platlib)

    def _link_lib64(self, layout: EnvLayout) -> None:
        os.symlink("lib", os.path.join(layout.root, "lib64"))

    def place_interpreter(self, layout: EnvLayout, plan: InterpreterPlan) -> str | None:
        """Put python, python3, python3.X in bin/. Returns the libpython the env must load."""
        return place_interpreter_files(layout, plan, plan.base, self.linkage)

    def write_config(self, layout: EnvLayout, plan: InterpreterPlan) -> None:
        base = plan.base
        through_link = base != self.info.executable  # (as uv: then X.Y, which stays true)
        major, minor = self.info.version[:2]
        values = {
            "home": os.path.dirname(base) if through_link else self.info.home,
            "implementation": self.info.implementation,
            "version_info": f"{major}.{minor}" if through_link else self.info.version_text,
            "include-system-site-packages": "true"
            if self.options.system_site_packages
            else "false",
            "base-executable": base,
            MADE_BY_KEY: __version__,
            "anyvenv-strategy": plan.strategy.value,
            "anyvenv-libpython": plan.library.value,
            "anyvenv-mode-shim": "true" if plan.mode_shim else "false",
        }
        if self.options.prompt:
            values["prompt"] = self.options.prompt
        create_file(os.path.join(layout.root, CFG_NAME), render_pyvenv_cfg(values))

    def write_scripts(self, layout: EnvLayout) -> None:
        from anyvenv.envbuild.activation import render_activation_scripts

        # as uv: the activation scripts name the env as it was named (``.venv`` linked to a
        # local disk stays ``project/.venv`` in VIRTUAL_ENV and in the prompt)
        prompt = self.options.prompt or os.path.basename(self.named)
        for name, data in render_activation_scripts(self.named, prompt).items():
            create_file(os.path.join(layout.bin, name), data, DATA_MODE)  # sourced, not run
        create_file(os.path.join(layout.root, ".gitignore"), GITIGNORE)
        create_file(os.path.join(layout.root, "CACHEDIR.TAG"), CACHEDIR_TAG)

    def write_mode_shim(self, layout: EnvLayout) -> None:
        """Where chmod is broken, let pip and friends in the env still get executables."""
        from anyvenv.envbuild.modeshim import SHIM_MODULE, SHIM_PTH, SHIM_PTH_LINE, SHIM_SOURCE

        create_file(os.path.join(layout.platlib, f"{SHIM_MODULE}.py"), SHIM_SOURCE.encode())
        create_file(os.path.join(layout.platlib, SHIM_PTH), SHIM_PTH_LINE.encode())

    def seed(self, layout: EnvLayout, plan: InterpreterPlan) -> list[str]:
        from anyvenv.envbuild.seed import seed_packages

        # uv copies files and then chmods them, and renames each into place while holding it
        # open: where either fails, or chmod is ignored, pip (with the shim) installs
        with_pip = plan.mode_shim or plan.uv_installs_fail
        return seed_packages(
            layout,
            with_pip=with_pip,
            index_args=self.options.seed_index_args,
            words=self.options.words,
        )

    def make_durable(self, layout: EnvLayout, library: str | None) -> None:
        """What the env needs to start, on disk before the rename that puts it in place: its
        pyvenv.cfg, the interpreter and libpython files placed in it (a link's target is the
        base's), and the directories that name them. A crash after the rename then leaves an
        env whose python runs, not one of empty files (the activation scripts, if a crash
        empties them, are found by check and written again by repair)."""
        files = [os.path.join(layout.root, CFG_NAME)]
        files += [os.path.join(layout.bin, name) for name in layout.executable_names()]
        if library is not None and library.startswith(layout.root + os.sep):
            files.append(library)
        for path in files:
            if stat.S_ISREG(os.lstat(path).st_mode):
                sync_file(path)
        for directory in {os.path.dirname(path) for path in files}:
            sync_directory(directory)

    def commit(self, staging: str) -> None:
        if self.in_place:
            inplace.fill(staging, self.target)
        elif self.options.keep_replaced:
            self.kept_old = atomic.commit_keeping(staging, self.target)
        else:
            self.remains = atomic.commit(staging, self.target)

    # -- helpers -------------------------------------------------------------------------------

    def _make_parents(self, parent: str) -> None:
        self.created_parents = make_parents(parent)

    def _remove_created_parents(self) -> None:
        remove_made(self.created_parents)


def _stat_or_none(path: str, follow: bool = True) -> os.stat_result | None:
    try:
        return os.stat(path, follow_symlinks=follow)
    except OSError:
        return None


# uv knows an interpreter by its path and modification time: a python copied over another at
# the same path within the second (sshfs keeps whole seconds, FAT two) would be taken for the
# one it replaced, version and all
_TIME_GRAIN_NS = 2_000_000_000


def _time_apart(bin_dir: str, replaced: os.stat_result) -> None:
    """Give the env's own python files in ``bin_dir`` (python, python3, python3.X: copies, or
    one file hard-linked together) a modification time clear of the one of the python they
    replace at that path, each by its own name (sshfs caches each name's times apart). What
    is the base's (a link to it, a hard link) is left alone."""
    try:
        names = [name for name in os.listdir(bin_dir) if name.startswith("python")]
    except OSError:
        return
    files = {}
    for name in names:
        found = _stat_or_none(os.path.join(bin_dir, name), follow=False)
        if found is not None and stat.S_ISREG(found.st_mode):
            files[name] = found
    for name, st in files.items():
        own_names = sum((o.st_dev, o.st_ino) == (st.st_dev, st.st_ino) for o in files.values())
        if st.st_nlink > own_names:
            continue  # a hard link to the base as well: its time is the base's
        if abs(st.st_mtime_ns - replaced.st_mtime_ns) >= _TIME_GRAIN_NS:
            continue
        path = os.path.join(bin_dir, name)
        try:
            os.utime(
                path,
                ns=(st.st_atime_ns, replaced.st_mtime_ns + _TIME_GRAIN_NS),
                follow_symlinks=False,
            )
        except OSError:
            continue  # (a filesystem that keeps no times keeps no stale ones either)
        _keep_exec_bits(path, st.st_mode)


def _keep_exec_bits(path: str, mode: int) -> None:
    """Give ``path`` back the exec bits of ``mode`` where setting its times took them
    (libsmbclient, as in smbnetfs and gvfs-smb, sets a file's DOS attributes with its
    times: the archive bit that shows as the owner's x goes)."""
    now = _stat_or_none(path, follow=False)
    if now is None or now.st_mode & 0o111 or not mode & 0o111:
        return
    try:
        os.chmod(path, stat.S_IMODE(mode))  # (a file of the env's own, seen regular)
    except OSError:
        pass  # (the check after building tells whether it runs)


def make_parents(parent: str) -> list[str]:
    """The missing directories of ``parent``, made (see :mod:`anyvenv.fs.parents`); a
    :class:`UsageError` naming the one that cannot be."""
    return make_missing(parent, judge=_parent_refusal)


def _parent_refusal(name: str, exc: OSError) -> UsageError:
    """The error for the directory ``name`` that cannot be made, judged while the ones made
    above it are still there: a name its filesystem refuses is told by making another in its
    parent, which must be there (one made, then removed before, said "you may not write")."""
    if atomic.name_refused(name, exc):
        return atomic.name_refusal(name, exc)
    doing = f"cannot create {name} in {os.path.dirname(name)}"  # (where the refusal is)
    refused = DirectoryNotWritable.refusing(exc, doing)
    if refused is not None:
        return refused
    return UsageError(f"{doing}: {exc.strerror}", "check the path and its permissions")


def place_interpreter_files(
    layout: EnvLayout, plan: InterpreterPlan, base_executable: str, linkage: Linkage
) -> str | None:
    """Put python, python3, python3.X in ``layout.bin`` as ``plan`` says (the names must not
    exist yet). Returns the libpython the env must load. Shared by the builder and repair."""
    names = layout.executable_names()
    first = os.path.join(layout.bin, names[0])
    if plan.strategy is Strategy.SYMLINK:
        os.symlink(base_executable, first)
        for name in names[1:]:
            os.symlink(names[0], os.path.join(layout.bin, name))
    elif plan.strategy is Strategy.HARDLINK:
        _hard_link_or_copy(base_executable, first)
        for name in names[1:]:
            _place_sibling(first, os.path.join(layout.bin, name))
    else:
        place_file(base_executable, first, plan.strategy, mode=EXECUTABLE_MODE)
        for name in names[1:]:
            _place_sibling(first, os.path.join(layout.bin, name))
    return _place_library(layout, plan, linkage)


def _make_new_dirs(root: str, path: str) -> None:
    """``path`` and its parents below ``root`` (which exists): mkdir each, no stat first (a
    round trip on a share each); one that exists already is fine."""
    relative = os.path.relpath(path, root)
    current = root
    for part in relative.split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current)
        except FileExistsError:
            if not os.path.isdir(current):
                raise


def _place_sibling(first: str, path: str) -> None:
    try:
        os.link(first, path)
    except OSError:
        place_file(first, path, Strategy.COPY, mode=EXECUTABLE_MODE)


def _place_library(layout: EnvLayout, plan: InterpreterPlan, linkage: Linkage) -> str | None:
    if plan.library is LibraryPlacement.NONE or linkage.library is None:
        return linkage.library
    if plan.library is LibraryPlacement.PATCHED_RUNPATH:
        _patch_runpath(layout, linkage)
        return linkage.library
    rel = linkage.relative_library_dir() or "../lib"
    lib_dir = os.path.normpath(os.path.join(layout.bin, rel))
    os.makedirs(lib_dir, exist_ok=True)
    dest = os.path.join(lib_dir, linkage.soname or os.path.basename(linkage.library))
    if plan.library is LibraryPlacement.HARDLINK:
        _hard_link_or_copy(linkage.library, dest)
    else:
        place_file(linkage.library, dest, Strategy.COPY, mode=EXECUTABLE_MODE)
    return dest


def _hard_link_or_copy(source: str, destination: str) -> None:
    """A hard link as planned; a copy where it would cross mounts after all (EXDEV: two
    mounts of one filesystem that the plan could not tell apart). :func:`as_placed` then
    says so."""
    try:
        place_file(source, destination, Strategy.HARDLINK)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        place_file(source, destination, Strategy.COPY, mode=EXECUTABLE_MODE)


def as_placed(
    plan: InterpreterPlan, layout: EnvLayout, linkage: Linkage, placed_lib: str | None
) -> InterpreterPlan:
    """``plan`` as :func:`place_interpreter_files` carried it out into ``layout``
    (``placed_lib``: what it returned): a planned hard link that was copied instead (see
    :func:`_hard_link_or_copy`) is told as a copy."""
    from anyvenv.record import replace

    crossed = "; a hard link crossed mounts (EXDEV), so it was copied"
    first = os.path.join(layout.bin, layout.executable_names()[0])
    if plan.strategy is Strategy.HARDLINK and not _same_file(first, plan.base):
        plan = replace(plan, strategy=Strategy.COPY, reason=plan.reason + crossed)
    library = linkage.library
    if (
        plan.library is LibraryPlacement.HARDLINK
        and library is not None
        and placed_lib is not None
        and not _same_file(placed_lib, library)
    ):
        reason = plan.reason if plan.reason.endswith(crossed) else plan.reason + crossed
        plan = replace(plan, library=LibraryPlacement.COPY, reason=reason)
    return plan


def _same_file(a: str, b: str) -> bool:
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _patch_runpath(layout: EnvLayout, linkage: Linkage) -> None:
    patchelf = find_patchelf()
    assert patchelf is not None and linkage.library is not None
    libdir = os.path.dirname(linkage.library)
    executables = [os.path.join(layout.bin, name) for name in layout.executable_names()]
    from anyvenv.fs.leftovers import scratch_dir
    from anyvenv.spawn import run_captured

    # patchelf rewrites a file in place (O_TRUNC, then write), which fusefat refuses (EPERM):
    # patch a local copy once, then write each executable anew (siblings are the same bytes)
    with scratch_dir("patching the env's python", "anyvenv-patchelf-") as scratch:
        local = os.path.join(scratch, os.path.basename(executables[0]))
        place_file(executables[0], local, Strategy.COPY, mode=EXECUTABLE_MODE)
        proc = run_captured([patchelf, "--set-rpath", libdir, local])
        if proc.returncode != 0:
            from anyvenv.interpreter.query import failure_line

            why = failure_line(proc.stderr.decode(errors="replace"), proc.returncode)
            raise EnvironmentBroken(  # (the staging tree is removed: the env's name for it)
                f"{patchelf} could not set the library path of the env's "
                f"bin/{os.path.basename(executables[0])}: {why}",
                "fix or replace that patchelf (ANYVENV_PATCHELF names the one to use), or set "
                "ANYVENV_PATCHELF= to copy libpython beside the env's python instead",
            )
        with open(local, "rb") as handle:
            patched = handle.read()
    for path in executables:
        atomic.atomic_write(path, patched, EXECUTABLE_MODE)


def fix_shebangs(
    bin_dir: str | os.PathLike[str],
    old_root: str | os.PathLike[str],
    new_root: str | os.PathLike[str],
) -> list[str]:
    """Make console scripts in ``bin_dir`` run by an interpreter under ``new_root`` instead of
    ``old_root``: ``#!<old_root>/bin/python`` lines and the ``/bin/sh`` trampoline installers
    write for paths with spaces or too long for the kernel (the right form for the new path)."""
    from anyvenv.envbuild.shebang import retarget_shebang

    changed: list[str] = []
    for name in os.listdir(bin_dir):
        entry = os.path.join(bin_dir, name)
        if os.path.islink(entry) or not os.path.isfile(entry):
            continue
        with open(entry, "rb") as handle:
            data = retarget_shebang(handle.read(), old_root, new_root)
        if data is None:
            continue
        mode = os.stat(entry).st_mode & 0o7777
        atomic.atomic_write(entry, data, mode)
        changed.append(entry)
    return changed


def build_environment(
    target: str | os.PathLike[str],
    info: InterpreterInfo,
    options: EnvOptions,
    builder_class: type[EnvBuilder] = EnvBuilder,
) -> EnvInfo:
    """Build the env at ``target`` from ``info`` with ``builder_class`` (a subclass changes
    a step: its result is checked as any other before it is committed)."""
    return build_with_pending_check(target, info, options, builder_class)[0]


def _check_name_length(target: str) -> None:
    """A name longer than its filesystem takes (255 bytes on most, 143 on eCryptfs) is the
    request's fault."""
    from anyvenv.fs.paths import name_over_limit

    over = name_over_limit(target)
    if over is not None:
        raise UsageError(
            f"the environment's name {os.path.basename(target)[:24]}... is too long ({over[0]} "
            f"bytes; the filesystem takes {over[1]})",
            "choose a shorter name",
        )


def build_with_pending_check(
    target: str | os.PathLike[str],
    info: InterpreterInfo,
    options: EnvOptions,
    builder_class: type[EnvBuilder] = EnvBuilder,
) -> tuple[EnvInfo, PendingCheck | None]:
    """Build; with ``options.defer_linked_check``, the check the caller must still finish."""
    try:
        builder = builder_class(target, info, options)
        return builder.build(), builder.pending_check
    except OSError as exc:
        from anyvenv.fs.outcome import write_error_fix

        if exc.errno == errno.ENAMETOOLONG:
            raise path_too_long(os.fspath(target), exc) from exc
        where = ""
        hint = write_error_fix(exc.errno, "check free space and permissions on that filesystem")
        named = _path_named(exc)
        if named and _link_refused(exc):  # (a link the plan did not foresee: a subclass's)
            copy = options.words.option("strategy", "copy")
            hint = f"the filesystem refused a link: pass {copy}" if copy else hint
            where = f" ({named})"
        elif named:
            where = f" ({named}{_whose(named, exc)})"
            if exc.errno in (errno.EACCES, errno.EPERM) and ", owned by" in where:
                hint = "work as its owner, or choose another path"
            else:
                from anyvenv.fs.outcome import held_tree_fix

                hint = held_tree_fix(exc, os.fspath(target), "the old environment") or hint
        raise AnyvenvError(
            f"cannot create the environment at {target}: {exc.strerror or exc}{where}", hint
        ) from exc


def _path_named(failure: OSError) -> str:
    """The path a failed call names: the link's, not the text it was to hold, for a symlink
    (``os.symlink("lib", link)`` names "lib" first); else its first path."""
    first, second = failure.filename, failure.filename2
    if first is None:
        return ""
    first = os.fsdecode(first)
    if second is not None and not os.path.isabs(first):  # (only a link's text is relative)
        return os.fsdecode(second)
    return first


def _link_refused(failure: OSError) -> bool:
    """Whether ``failure`` of a call of two paths (a link's, or a rename's) is a filesystem
    refusing links as such: the call is not supported (a rename is, everywhere anyvenv
    goes), or not permitted where the first path is a link's relative text."""
    if failure.filename2 is None:
        return False
    if failure.errno in (errno.EOPNOTSUPP, errno.ENOSYS):
        return True
    relative = failure.filename is not None and not os.path.isabs(os.fsdecode(failure.filename))
    return failure.errno == errno.EPERM and relative


def path_too_long(target: str, failure: OSError) -> UsageError:
    """The error for an env that cannot be made because a path of its is too long
    (``failure``: ENAMETOOLONG): the paths of its files pass the limit of a path's length
    (its own name fits: :func:`_check_name_length`); or, where a name anyvenv gives a file of
    it is the one too long (a staging name on eCryptfs, which takes 143 bytes), its name."""
    from anyvenv.fs.paths import byte_length, name_over_limit, path_max

    over = name_over_limit(os.fspath(failure.filename or target))
    if over is not None:
        return UsageError(
            f"cannot create the environment at {target}: its name is too long for that "
            f"filesystem ({byte_length(os.path.basename(target))} bytes: the names of the "
            f"files made for it pass the {over[1]} bytes the filesystem takes)",
            "choose a shorter name",
        )
    return UsageError(
        f"cannot create the environment at {target}: its path is too long "
        f"({byte_length(os.path.abspath(target))} bytes: the paths of the files in it pass "
        f"the limit of {path_max(os.path.dirname(os.path.abspath(target)))} bytes)",
        "pick a shorter path",
    )


def _refuse_another_users(env: str) -> None:
    """Another user's env that this user may not wholly remove: replaced, what is left of it
    would be hidden aside where neither could remove it (in a sticky directory, even the
    rename fails); uv refuses too. An env of this user's holding some files of another's, as
    ``sudo pip install`` leaves, is replaced (what cannot be removed is named), and so is one
    that shows another owner but may be removed all the same (sshfs with another uid on the
    server; a group's env that the group may change). Root replaces any."""
    uid = os.geteuid()
    try:
        if uid == 0 or os.lstat(env).st_uid == uid:
            return
    except OSError:
        return  # (gone meanwhile: nothing to replace)
    from anyvenv.fs.remove import owner_name, why_unremovable

    if why_unremovable(env) is None:  # (a sticky directory's refusal counts: it is the parent's)
        return
    raise UsageError(
        f"cannot replace the environment at {env}: it is {owner_name(env)}'s",
        "work as its owner, or choose another path",
    )


def _whose(path: str, exc: OSError) -> str:
    """``", owned by u1, in a sticky directory"`` for a path refused to this user (EACCES,
    EPERM) that another user owns: what the refusal is about; ``""`` otherwise."""
    if exc.errno not in (errno.EACCES, errno.EPERM):
        return ""
    from anyvenv.fs.remove import owner_name

    try:
        if os.lstat(path).st_uid == os.geteuid():
            return ""
        sticky = os.stat(os.path.dirname(os.path.abspath(path))).st_mode & stat.S_ISVTX
        return f", owned by {owner_name(path)}" + (", in a sticky directory" if sticky else "")
    except OSError:
        return ""

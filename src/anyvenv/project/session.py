"""One locked run on a project, shared by ``sync``, ``run``, ``pip``, ``add`` and ``remove``:
find the project and its Python request (bad input fails here, before anything is
touched), take the project lock, prepare the env (:mod:`anyvenv.project.prepare`), save
what was learned when the run ends well.
"""

from __future__ import annotations

import os

from anyvenv.errors import AnyvenvError, UsageError
from anyvenv.fs.lock import ShareLock, env_lock
from anyvenv.project import inputs as inputs_store
from anyvenv.project.envchoice import rewrites_work_at
from anyvenv.project.inputs import InputsRecord, Invocation
from anyvenv.project.linkmode import (
    LinkChoice,
    LinkModeRefused,
    decide_link_mode,
    forced_link_mode,
)
from anyvenv.project.model import Project, PythonChoice, choose_python, discover
from anyvenv.project.prepare import (
    EnvLeftAlone,
    PreparedEnv,
    discard_replaced,
    landing_dir,
    prepare,
    put_back_replaced,
    save_state,
    undo_created,
)
from anyvenv.project.readonce import FileMemo
from anyvenv.project.uvcache import CacheDirLookup, uv_cache_dir
from anyvenv.project.uvrules import (
    env_flag,
    has_flag,
    offline_wanted,
    project_env_path,
    start_dir,
    uses_version_files,
)
from anyvenv.project.uvsettings import (
    compiles_bytecode,
    configured_link_mode,
    preference_in_args,
    python_downloads_and_source,
    python_preference,
    reinstalls,
)
from anyvenv.pythons.ondemand import Downloads
from anyvenv.record import field, mutable_record, record, replace
from anyvenv.uvbinary import find_uv

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:  # the no-op path imports neither the probe nor the mirror
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from anyvenv.pythons.installer import InstallProgress


@record
class SyncOptions:
    python: str | None = None  # anyvenv's --python (uv's request syntax)
    link_mode: str | None = None  # --link-mode
    uv_args: tuple[str, ...] = ()  # everything else, passed to uv unchanged
    cwd: str | None = None
    uv_command: str = "sync"  # or "add", "remove": uv edits the project, then syncs the env
    for_run: bool = False  # the sync of `anyvenv run` (uv run makes its env where sync would not)
    for_pip: bool = False  # for `uv pip`: a link-mode in uv's pip table comes first
    on_lock_wait: Callable[[str], object] | None = None  # told when another sync holds the lock
    # told uv's warning for each line of the version file that uv ignores (as uv says it)
    on_warning: Callable[[str], object] | None = None
    # told (files written, files to write) while a shadow env's packages are copied into the env
    on_mirror_progress: Callable[[int, int], object] | None = None
    # told, before uv pip runs on a shadow env, which env it stands for and why
    on_shadow_note: Callable[[str], object] | None = None
    # told (stage, done, total) while a Python no install answers is downloaded, then done
    on_python_progress: InstallProgress | None = None
    on_python_progress_done: Callable[[], object] | None = None
    # told, once the env is ready, where the pointer names another user's env: the line that
    # says so, and which env is used instead (else it is one of the notes)
    on_anothers_env: Callable[[str], object] | None = None


def project_lock(declared: str, on_wait: Callable[[str], object] | None = None) -> ShareLock:
    """The lock that serialises syncs of one project: beside the declared env path."""
    os.makedirs(os.path.dirname(declared), exist_ok=True)
    return env_lock(declared, on_wait)


def locate(
    options: SyncOptions, environ: Mapping[str, str], cwd: str
) -> tuple[Project, PythonChoice, str]:
    """The project, its Python request and its declared env path (reads files only)."""
    project = discover(start_dir(options.uv_args, cwd, environ))
    explicit, workdir = options.python, start_dir(options.uv_args, cwd, environ, project=False)
    if workdir != cwd:  # (--directory: a relative path asked for is taken from there)
        explicit = explicit and _path_against(workdir, explicit)
        if environ.get("UV_PYTHON"):
            environ = {**environ, "UV_PYTHON": _path_against(workdir, environ["UV_PYTHON"])}
    choice = choose_python(
        project,
        explicit,
        environ,
        # uv's project env reads .python-version at the workspace root only (its
        # ProjectEnvironment asks from there), not from the working directory as uv venv does
        start=project.workspace_root,
        use_version_files=uses_version_files(options.uv_args, environ),
    )
    preference = python_preference(
        preference_in_args(options.uv_args), project.workspace_root, options.uv_args, environ, cwd
    )
    root = project.workspace_root
    downloads = Downloads(  # (uv's python-downloads is read only if a download is wanted)
        lambda: python_downloads_and_source(root, options.uv_args, environ, cwd),
        offline=offline_wanted(options.uv_args, environ),
        progress=options.on_python_progress,
        progress_done=options.on_python_progress_done,
    )
    choice = replace(choice, preference=preference, downloads=downloads)
    declared = project_env_path(project.workspace_root, options.uv_args, environ, cwd)
    _check_uv_can_take(declared)
    return project, choice, declared


def _path_against(workdir: str, request: str) -> str:
    """A Python request that is a relative path, made absolute against the directory uv
    runs in (``--directory`` moves it, as it moves uv before uv reads its options)."""
    from anyvenv.interpreter.request import names_a_path

    if not names_a_path(request) or os.path.isabs(os.path.expanduser(request)):
        return request
    return os.path.join(workdir, request)


def _check_uv_can_take(env: str) -> None:
    """uv refuses an env path that is not UTF-8 (after it is built): said first, with the fix."""
    from anyvenv.fs.paths import is_utf8

    if not is_utf8(env):
        shown = os.fsencode(env).decode("utf-8", "backslashreplace")
        raise UsageError(
            f"the project env path {shown} is not valid UTF-8, and uv takes no other",
            "set UV_PROJECT_ENVIRONMENT to a UTF-8 path (the project itself may stay), or "
            "rename the directory",
        )


def leaves_env_alone(options: SyncOptions, environ: Mapping[str, str], root: str) -> bool:
    """Whether uv will not change the project env: ``--show-settings`` (uv prints them and
    stops), ``sync --dry-run``/``--check``, ``sync --frozen`` (``UV_FROZEN``) of a project
    (at ``root``) with no uv.lock (uv stops before it makes an env; uv run makes one), or an
    edit with ``--no-sync``/``--frozen`` (or ``UV_NO_SYNC``/``UV_FROZEN``)."""
    args = options.uv_args
    if has_flag(args, "--show-settings"):
        return True
    if options.uv_command == "sync":
        frozen = has_flag(args, "--frozen") or env_flag(environ, "UV_FROZEN")
        if frozen and not options.for_run and not os.path.lexists(os.path.join(root, "uv.lock")):
            return True
        return has_flag(args, "--dry-run", "--check")
    return has_flag(args, "--no-sync", "--frozen") or any(
        env_flag(environ, name) for name in ("UV_NO_SYNC", "UV_FROZEN")
    )


@mutable_record
class Session:
    """One locked run on a project: what sync and pip share."""

    options: SyncOptions
    environ: Mapping[str, str]
    cwd: str
    uv: str
    forced_link: LinkChoice | None
    prepared: PreparedEnv
    inputs: InputsRecord | None = None  # saved with the state: uv succeeded on these inputs
    # `uv cache dir`, started before a new env was built (see :func:`early_cache_dir_lookup`)
    cache_dir_lookup: CacheDirLookup | None = None
    # the project's files as read before uv runs (``with session.reads.active():``; emptied
    # before uv runs: see readonce)
    reads: FileMemo = field(default_factory=FileMemo)

    def compiles_bytecode(self, uv_args: Sequence[str]) -> bool:
        return compiles_bytecode(*self.settings_context(uv_args), for_pip=self.options.for_pip)

    def reinstalls(self, uv_args: Sequence[str]) -> bool | set[str]:
        """What uv reinstalls with these arguments: everything, else these packages."""
        return reinstalls(*self.settings_context(uv_args), for_pip=self.options.for_pip)

    def settings_context(
        self, uv_args: Sequence[str]
    ) -> tuple[str, Sequence[str], Mapping[str, str], str]:
        return self.prepared.project.workspace_root, uv_args, self.environ, self.cwd

    def link_mode(self, uv_args: Sequence[str]) -> LinkChoice:
        """The link mode uv installs with; where the one asked for is refused (before uv
        runs), the project is left as before the command: an env made for it goes, one it
        replaced comes back."""
        early = self._early_lookup(uv_args)
        try:
            return decide_link_mode(
                self.prepared.state,
                self.prepared.install_target,
                self.forced_link,
                uv_args,
                self.environ,
                self.cwd,
                lambda: self._cache_dir(uv_args),  # asked only when no decision is kept for it
                early.sources if early is not None else None,
            )
        except LinkModeRefused:
            prepared = self.prepared
            if prepared.pending_check is not None:  # (its python, about to be removed)
                prepared.pending_check.cancel()
                prepared.pending_check = None
            if prepared.action == "created":
                undo_created(prepared)
            else:
                put_back_replaced(prepared)
            raise

    def _early_lookup(self, uv_args: Sequence[str]) -> CacheDirLookup | None:
        early = self.cache_dir_lookup
        return early if early is not None and early.args == tuple(uv_args) else None

    def _cache_dir(self, uv_args: Sequence[str]) -> str:
        early = self._early_lookup(uv_args)
        if early is not None:
            return early.result()
        return uv_cache_dir(self.uv, uv_args, self.environ, self.cwd)

    def note_cache_trouble(self, uv_args: Sequence[str]) -> None:
        """After uv failed with an error (not a resolution that found no solution, which no
        cache causes): say so when its cache is on a filesystem it cannot keep it on (a home
        directory on a share), whose error would not tell the user what to do."""
        from anyvenv.project.uvcache import cache_trouble

        try:
            trouble = cache_trouble(self._cache_dir(uv_args))
        except AnyvenvError:
            return
        if trouble is not None:
            self.prepared.notes.append(
                f"{trouble}: set UV_CACHE_DIR to a directory on a local disk"
            )

    def invocation(self) -> Invocation:
        o = self.options
        return Invocation(o.python, o.link_mode, o.uv_args, self.cwd, self.environ)


def early_cache_dir_lookup(
    uv: str,
    link_args: Sequence[str] | None,
    forced: LinkChoice | None,
    declared: str,
    environ: Mapping[str, str],
    cwd: str,
) -> CacheDirLookup | None:
    """Where there is no env yet, the link mode will be decided after it is built and needs
    uv's cache dir: ask uv now, so that ``uv cache dir`` runs while the env is built."""
    if link_args is None or forced is not None or os.path.lexists(declared):
        return None
    return CacheDirLookup(uv, link_args, environ, cwd)


class LockedProject:
    """``with LockedProject(options) as session``: find the project (bad input fails here,
    before anything is touched), take its lock, make or reuse its env; the state (and the inputs
    uv succeeded on) is saved when the block ends without an error. With ``defer_check`` the
    block must settle ``session.prepared.pending_check``; ``link_args`` are the uv arguments
    the block will decide the link mode for, if known. The project's files are read once
    while the block is entered (:mod:`anyvenv.project.readonce`); ``session.reads`` keeps
    them for what the block does before uv runs."""

    def __init__(
        self,
        options: SyncOptions,
        environ: Mapping[str, str] | None = None,
        defer_check: bool = False,
        link_args: Sequence[str] | None = None,
    ) -> None:
        self.options = options
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.defer_check = defer_check
        self.link_args = link_args
        self._lock: ShareLock | None = None
        self._early: CacheDirLookup | None = None
        self._session: Session | None = None
        self._reads = FileMemo()

    def __enter__(self) -> Session:
        with self._reads.active():
            return self._enter()

    def _enter(self) -> Session:
        options, env_vars = self.options, self.environ
        cwd = options.cwd or os.getcwd()
        project, choice, declared = locate(options, env_vars, cwd)
        if options.on_warning is not None:
            for warning in choice.warnings:
                options.on_warning(warning)
        if not project.managed:  # uv syncs no env for it (and says so): make none
            raise EnvLeftAlone(declared)
        if not os.path.lexists(declared):  # (to be made: its place is probed meanwhile)
            from anyvenv.fs.probe import probe_path_for, start_probe

            start_probe(probe_path_for(landing_dir(declared)))
        forced = forced_link_mode(options.link_mode, env_vars) or configured_link_mode(
            project.workspace_root, options.uv_args, env_vars, cwd, for_pip=options.for_pip
        )
        uv = find_uv()
        self._lock = project_lock(declared, options.on_lock_wait)
        self._lock.acquire()
        try:
            self._early = early_cache_dir_lookup(
                uv, self.link_args, forced, declared, env_vars, cwd
            )
            may_build = not leaves_env_alone(options, env_vars, project.workspace_root) or (
                options.uv_command != "sync" and not rewrites_work_at(project.workspace_root)
            )  # (an edit where uv cannot rewrite goes through a copy, with an env: as before)
            prepared = prepare(
                project,
                choice,
                declared,
                env_vars,
                self.defer_check,
                may_build=may_build,
                as_it_is=options.for_pip,  # uv pip acts on the env it finds
                keep_replaced=not options.for_pip,  # (put back if uv refuses the command)
            )
            if prepared.anothers is not None and options.on_anothers_env is not None:
                options.on_anothers_env(prepared.anothers)
            elif prepared.anothers is not None:
                prepared.notes.append(prepared.anothers)
            self._session = Session(
                options,
                env_vars,
                cwd,
                uv,
                forced,
                prepared,
                cache_dir_lookup=self._early,
                reads=self._reads,
            )
        except BaseException:
            self._leave(None)
            raise
        return self._session

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave(self._session if kind is None else None)

    def _leave(self, finished: Session | None) -> None:
        """Settle what still runs; save what ``finished`` learned; release the lock."""
        try:
            if self._early is not None:
                self._early.cancel()  # not asked for, or asked for already: done with
            session = self._session
            if session is not None and session.prepared.pending_check is not None:
                session.prepared.pending_check.cancel()  # left by an error or Ctrl-C
            if session is not None:
                discard_replaced(session.prepared)  # (not put back: uv took the command)
            if (
                finished is not None
                and finished.prepared.action not in ("undone", "restored")
                and finished.prepared.keeps_state
            ):
                save_state(finished.prepared)
                if finished.inputs is not None:
                    inputs_store.save(finished.inputs)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

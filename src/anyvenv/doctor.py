"""``anyvenv doctor``: the probe's measurements of a directory turned into advice: what
will and will not work there, which strategy anyvenv uses, and the user's other options,
each with the measured outcome (an errno name) that proves the point."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from anyvenv.errors import (
    AnyvenvError,
    DirectoryNotWritable,
    NothingExecutableHere,
    WritesLostHere,
)
from anyvenv.fs.outcome import NO, OK, REWRITES_WORK
from anyvenv.fs.probe import ProbeResult, probe

CIFS_TYPES = ("cifs", "smb3", "smbfs")
READ_BACK = ("symlink_relative", "symlink_dotdot", "symlink_absolute")


class ToolOutcome(str, enum.Enum):
    WORKS = "works"
    BREAKS = "breaks"  # succeeds, but leaves an environment that does not run
    FAILS = "fails"  # stops with an error


@dataclass(frozen=True)
class ToolVerdict:
    tool: str
    outcome: ToolOutcome
    reason: str
    evidence: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "tool": self.tool,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class Option:
    advice: str
    evidence: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"advice": self.advice, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Placement:
    """What ``anyvenv venv`` does here."""

    strategy: str  # symlink, hardlink, reflink, copy, or none
    libpython: str
    reason: str
    base: str | None
    stopped: str | None = None  # why venv would stop before it starts (no base it may take)

    def to_json(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "libpython": self.libpython,
            "reason": self.reason,
            "base": self.base,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class Advice:
    probe: ProbeResult
    tools: list[ToolVerdict]
    strategy: Placement
    options: list[Option]

    def sync_placement(self) -> tuple[str, str]:
        """Where ``anyvenv sync`` puts a project env here, and why (as it decides)."""
        from anyvenv.project.envchoice import placement_for

        placement, reason = placement_for(self.probe)
        return placement.value, reason

    def sync_stopped(self) -> str | None:
        """Why ``anyvenv sync`` would stop here: the per-user directory that its env or shadow
        env must go to cannot hold it either (a home directory on the same share)."""
        from anyvenv.errors import NoHomeDirectory, UnfitUserDir
        from anyvenv.project import envchoice

        placement, reason = envchoice.placement_for(self.probe)
        try:
            if placement is envchoice.Placement.ELSEWHERE:
                envchoice.fit_envs_dir(os.environ, reason)
            elif placement is envchoice.Placement.SHADOW:
                envchoice.fit_shadow_dir(os.environ, envchoice.fault_of(self.probe) or reason)
        except (UnfitUserDir, NoHomeDirectory) as exc:
            return exc.one_line()
        return None

    def to_json(self) -> dict[str, object]:
        placement, reason = self.sync_placement()
        return {
            "path": self.probe.path,
            "fstype": self.probe.fstype,
            "mount_point": self.probe.mount_point,
            "mount_options": list(self.probe.mount_options),
            "checks": self.probe.checks(),
            "tools": [tool.to_json() for tool in self.tools],
            "anyvenv": self.strategy.to_json(),
            "anyvenv_sync": {
                "placement": placement,
                "reason": reason,
                "stopped": self.sync_stopped(),
            },
            "options": [option.to_json() for option in self.options],
        }


class NotProbedHere(DirectoryNotWritable):
    """The directory doctor advises on cannot be probed: this user may not write there, or it
    is on a read-only mount. ``env_options``: what doctor says all the same of the ``.venv``
    there (as check finds it), which needs no writing."""

    def __init__(
        self, refusal: DirectoryNotWritable, directory: str, env_options: list[Option]
    ) -> None:
        where = os.path.abspath(directory)
        whose, then = "", "remount it read-write"
        if not refusal.read_only:
            from anyvenv.fs.remove import ownership

            whose, then = f" ({ownership(where)})", "run it in a directory there you may write to"
        super().__init__(
            f"{where} cannot be probed: {refusal.reason}{whose}",
            f"doctor tries a filesystem by writing a few files: {then}",
            reason=refusal.reason,
            read_only=refusal.read_only,
        )
        self.env_options = env_options


def doctor(directory: str | os.PathLike[str], python: str | None = None) -> Advice:
    """Advice for ``directory`` (probed there). Raises :class:`anyvenv.errors.UsageError`
    for a path that is not a directory, and :class:`NotProbedHere` for one that cannot be
    written (with what it can say of the ``.venv`` there)."""
    try:
        result = probe(directory, keep_times=True)  # advice only: it leaves no trace
    except DirectoryNotWritable as exc:
        text = os.fspath(directory)
        raise NotProbedHere(exc, text, _env_here(text, say_usable=True)) from exc
    strategy = _strategy(result, python)
    advice = advise(result, strategy)
    if strategy.stopped is not None:
        advice.options.insert(0, Option(f"'anyvenv venv' here would stop: {strategy.stopped}"))
    sync_stopped = advice.sync_stopped()
    if sync_stopped is not None:
        advice.options.insert(0, Option(f"'anyvenv sync' here would stop: {sync_stopped}"))
    advice.options.extend(_env_here(os.fspath(directory)))
    cache = _uv_cache_advice(os.fspath(directory))
    if cache is not None:
        advice.options.append(cache)
    return advice


def _uv_cache_advice(directory: str) -> Option | None:
    """Advice where uv's cache (for a uv run in ``directory``) is on a filesystem uv cannot
    keep it on (a home on a share): every sync, of any project, fails there, though the
    directory itself is fine."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.project.uvcache import cache_trouble, uv_cache_dir
    from anyvenv.uvbinary import find_uv

    try:
        cache = uv_cache_dir(find_uv(), [], os.environ, directory)
    except (AnyvenvError, OSError):
        return None
    trouble = cache_trouble(cache)
    if trouble is None:
        return None
    return Option(
        f"{trouble}: 'uv sync' and 'anyvenv sync' may fail on any project; set UV_CACHE_DIR "
        "to a directory on a local disk",
        {"uv_cache_dir": cache},
    )


def _env_here(directory: str, say_usable: bool = False) -> list[Option]:
    """Advice about the ``.venv`` in ``directory`` (a pointer followed): where its pointer
    names another user's env, which one is this user's; when the env (this user's) does not
    work, what check found, and the command that mends it (none where its base lies past a
    directory this user may not enter: repair refuses that). ``say_usable``: a usable one is
    said too."""
    from anyvenv.errors import MadeOnWindows
    from anyvenv.project.pointer import resolve_env
    from anyvenv.repair.diagnose import check
    from anyvenv.repair.envstate import base_out_of_reach
    from anyvenv.repair.findings import Code

    declared = os.path.join(directory, ".venv")
    if not os.path.lexists(declared):
        return []
    try:
        env = resolve_env(declared)
    except AnyvenvError:  # not a pointer that can be read: nothing to say of it here
        return []
    options: list[Option] = []
    if env != declared:
        anothers = _anothers_env_here(declared, env)
        if anothers is not None:
            option, own = anothers
            options.append(option)
            if own is None:
                return options
            env = own
    try:
        diagnosis = check(env, package_files=False)  # (errors alone)
    except MadeOnWindows as exc:
        return [*options, Option(exc.one_line(), {"codes": "made-on-windows"})]
    except AnyvenvError:  # not an environment: what sync, run and venv stop on, if they do
        return [*options, *(_cut_fill_here(env) or _not_an_env_here(env))]
    if diagnosis.usable:
        usable = Option(f"the environment {diagnosis.env} is usable (as 'anyvenv check' finds it)")
        options += [  # (whole, but what a killed fill left is beside it)
            Option(finding.message, {"codes": finding.code.value})
            for finding in diagnosis.findings
            if finding.code is Code.FILL_UNFINISHED
        ]
        return [*options, usable] if say_usable else options
    errors = diagnosis.errors
    out = base_out_of_reach(diagnosis.env)
    if diagnosis.fill_refused:
        then = "do as the fill-unfinished line there says: repair does not act on it"
    elif out is not None:
        then = f"not for you to repair: {out.reason()}; {out.let_in()}"
    elif diagnosis.reinstall_only:
        then = "then reinstall as it says"
    else:
        then = f"'anyvenv repair {declared}' to mend it"
    return [
        *options,
        Option(
            f"the environment {declared} is not usable ({errors[0].message}"
            + (f"; and {len(errors) - 1} more" if len(errors) > 1 else "")
            + f"): run 'anyvenv check {declared}' for all of it, {then}",
            {"codes": ", ".join(finding.code.value for finding in errors)},
        ),
    ]


def _cut_fill_here(env: str) -> list[Option]:
    """What a killed fill of ``env`` in place left, where it left no ``pyvenv.cfg`` (check
    refuses it as no environment), and what finishes or undoes it."""
    from anyvenv.fs.inplace import cut_fills

    return [
        Option(f"{found.what}: {found.fix}", {"codes": "fill-unfinished"})
        for found in cut_fills(os.path.abspath(env))
    ]


def _not_an_env_here(env: str) -> list[Option]:
    """The line 'anyvenv sync' (and run, and venv) stops with where the ``.venv`` here is no
    environment it may replace: a file, a directory of another kind (a conda env)."""
    from anyvenv.envbuild.builder import refusal
    from anyvenv.envbuild.pointerfile import EMPTY_POINTER, is_empty_pointer
    from anyvenv.repair.envstate import conda_env

    if is_empty_pointer(env):  # (sync writes it again: venv alone would stop)
        return [Option(f"{env} {EMPTY_POINTER}: 'anyvenv sync' writes it again")]
    refused = refusal(os.path.abspath(env))  # (named as sync names it)
    if refused is None:
        return []
    kind = " (a conda environment: conda-meta/)" if conda_env(env) else ""
    return [Option(f"'anyvenv sync', 'run' and 'venv' here would stop{kind}: {refused.one_line()}")]


def _anothers_env_here(declared: str, pointed: str) -> tuple[Option, str | None] | None:
    """Where the pointer at ``declared`` names ``pointed``, another user's env: the advice
    that says so, and this user's own env for the project (``None`` where they have none)."""
    from anyvenv.project.envchoice import envs_dir
    from anyvenv.project.owners import own_env_for
    from anyvenv.project.pointer import PER_USER, anothers_env

    anothers = anothers_env(declared, pointed, os.environ)
    if anothers is None:
        return None
    own = own_env_for(declared, envs_dir(os.environ))
    yours = f"yours is {own}" if own is not None else "'anyvenv sync' here makes yours"
    evidence = {"pointer": pointed, **({"yours": own} if own is not None else {})}
    return Option(f"{anothers}: {PER_USER}; {yours}", evidence), own


def advise(result: ProbeResult, strategy: Placement) -> Advice:
    tools = [
        _uv_venv(result),
        _uv_sync(result),
        _uv_add(result),
        _uv_lock(result),
        _python_venv(result),
        _virtualenv(result),
        _uv_python_install(result),
    ]
    return Advice(result, tools, strategy, _options(result))


# -- facts read from the probe ---------------------------------------------------------------


def _evidence(result: ProbeResult, *names: str) -> dict[str, str]:
    checks = result.checks()
    return {name: checks[name] for name in names if name in checks}


def _bad_read_back(result: ProbeResult) -> dict[str, str]:
    """Read-back checks that failed on links that were created (empty when none could be)."""
    if result.symlink_create != OK:
        return {}
    return {name: value for name, value in _evidence(result, *READ_BACK).items() if value != OK}


def _link_problem(result: ProbeResult) -> tuple[str, dict[str, str]] | None:
    """Why links to the base interpreter do not work here, or ``None`` when they do."""
    if result.symlink_create != OK:
        return (
            f"symlink() fails ({result.symlink_create})",
            _evidence(result, "symlink_create"),
        )
    bad = _bad_read_back(result)
    if not bad:
        return None
    shown = ", ".join(
        f"{name.removeprefix('symlink_')}: {'dangles' if value == NO else value}"
        for name, value in bad.items()
    )
    return f"links are created but cannot be read back ({shown})", bad


def _exec_problem(result: ProbeResult) -> tuple[str, dict[str, str]] | None:
    if result.can_execute:
        return None
    noexec = " (mounted noexec)" if "noexec" in result.mount_options else ""
    return f"nothing can be executed here ({result.exec}){noexec}", _evidence(result, "exec")


# -- the tools -------------------------------------------------------------------------------


def _uv_venv(result: ProbeResult) -> ToolVerdict:
    tool = "uv venv"
    link = _link_problem(result)
    if link is not None and result.symlink_create != OK:
        return ToolVerdict(
            tool, ToolOutcome.FAILS, f"it links the interpreter and lib64; {link[0]}", link[1]
        )
    if link is not None:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            f"bin/python is a link to the base interpreter; {link[0]}: python does not start "
            "(anyvenv repair fixes such an env)",
            link[1],
        )
    exe = _exec_problem(result)
    if exe is not None:
        return ToolVerdict(tool, ToolOutcome.WORKS, _linked_but_noexec(exe[0]), exe[1])
    return ToolVerdict(tool, ToolOutcome.WORKS, "symlinks work here", _evidence(result, *READ_BACK))


def _linked_but_noexec(problem: str) -> str:
    return (
        f"python is a link to the base on another filesystem, so it runs; but {problem}: "
        "console scripts in bin/ cannot be run (use 'python -m ...')"
    )


def _uv_sync(result: ProbeResult) -> ToolVerdict:
    tool = "uv sync"
    venv = _uv_venv(result)
    if result.rename_open != OK and result.can_execute:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"uv renames every file it writes into place while still holding it open, and a "
            f"file held open cannot be renamed here ({result.rename_open}), even into a "
            "working environment",
            _evidence(result, "rename_open"),
        )
    if not result.keeps_reopened_writes and result.can_execute:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            "uv writes every file it installs through a second open of a temporary file it "
            f"holds open, and such writes are lost here ({result.reopen_write}): the files "
            "come out empty, even in a working environment",
            _evidence(result, "reopen_write"),
        )
    if result.chmod_fails and result.can_execute:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"uv sets the mode of every package file it copies and chmod fails here "
            f"({result.chmod}), even into a working environment",
            _evidence(result, "chmod"),
        )
    exe = _exec_problem(result)
    if venv.outcome is ToolOutcome.WORKS and exe is not None:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            f"{exe[0]}: the console scripts it installs cannot run",
            exe[1],
        )
    if venv.outcome is not ToolOutcome.WORKS:
        reuse = (
            "; into an environment made by 'anyvenv venv' it works (uv reuses it)"
            if result.can_execute
            else ""
        )
        return ToolVerdict(
            tool,
            venv.outcome,
            f"it creates .venv as uv venv does: {venv.reason}{reuse}",
            venv.evidence,
        )
    if result.chmod_ignored_harmfully:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            "chmod is accepted but ignored here: console scripts keep the mode they were "
            "created with and may not be executable (run them as 'python -m ...')",
            _evidence(result, "chmod"),
        )
    return ToolVerdict(tool, ToolOutcome.WORKS, _modes_work(result), _modes_evidence(result))


def _project_file_verdict(
    tool: str, result: ProbeResult, written: str, advice: str, after_fchmod: str = ""
) -> ToolVerdict | None:
    """uv cannot replace the project's files where chmod fails, nor write any where a file
    held open cannot be renamed; ``None`` where it can."""
    if result.rename_open != OK:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"uv writes each file it changes to a temporary file and renames that into place "
            f"while still holding it open, which fails here ({result.rename_open}); {advice}",
            _evidence(result, "rename_open"),
        )
    if not result.chmod_fails:
        return None
    return ToolVerdict(
        tool,
        ToolOutcome.FAILS,
        f"uv writes {written} and copies the old file's mode onto it with fchmod, which fails "
        f"here ({result.chmod}){after_fchmod}; {advice}",
        _evidence(result, "chmod"),
    )


def _uv_add(result: ProbeResult) -> ToolVerdict:
    fails = _project_file_verdict(
        "uv add",
        result,
        "pyproject.toml in place",
        "'anyvenv add' has uv edit a copy of the project on local disk and puts the files "
        "back (for a project that depends on nothing outside its root)",
        ": the file is left torn",
    )
    if fails is not None:
        return fails
    sync = _uv_sync(result)
    return ToolVerdict(
        "uv add", sync.outcome, f"it syncs the env as uv sync does: {sync.reason}", sync.evidence
    )


def _uv_lock(result: ProbeResult) -> ToolVerdict:
    fails = _project_file_verdict(
        "uv lock",
        result,
        "a new uv.lock whenever an existing one must change",
        "'anyvenv lock' locks a copy of the project on local disk and puts uv.lock back",
    )
    if fails is not None:
        return fails
    return ToolVerdict(
        "uv lock", ToolOutcome.WORKS, "it needs no env, and uv.lock is replaced in place", {}
    )


def _python_venv(result: ProbeResult) -> ToolVerdict:
    tool = "python -m venv"
    link = _link_problem(result)
    exe = _exec_problem(result)
    if link is not None and result.symlink_create != OK:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"it creates the lib64 -> lib link even with --copies; {link[0]}",
            link[1],
        )
    if exe is not None and link is None:
        return ToolVerdict(
            tool,
            ToolOutcome.WORKS,
            _linked_but_noexec(exe[0]) + "; with --copies nothing runs",
            exe[1],
        )
    if exe is not None:
        return ToolVerdict(tool, ToolOutcome.BREAKS, exe[0], exe[1])
    if link is not None:
        relative_bad = result.symlink_relative != OK
        copies = (
            "with --copies the interpreter runs but lib64 is an unreadable link"
            if relative_bad
            else "with --copies it works"
        )
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            f"bin/python links to the base; {link[0]}: python does not start ({copies})",
            link[1],
        )
    modes = _modes_verdict(
        tool, result, "it copies its activation scripts with their modes (shutil.copymode)"
    )
    if modes is not None:
        return modes
    return ToolVerdict(tool, ToolOutcome.WORKS, "symlinks work here", _evidence(result, *READ_BACK))


def _modes_verdict(tool: str, result: ProbeResult, what_sets_modes: str) -> ToolVerdict | None:
    """Where links work but modes do not: chmod failing stops the tool, chmod ignored leaves
    the scripts pip installs without their exec bit; ``None`` where modes work."""
    if result.chmod_fails:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"{what_sets_modes} and chmod fails here ({result.chmod})",
            _evidence(result, "chmod"),
        )
    if result.chmod_ignored_harmfully:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            "chmod is accepted but ignored here: bin/pip and the console scripts pip installs "
            "keep the mode they were created with and cannot be run",
            _evidence(result, "chmod"),
        )
    return None


def _virtualenv(result: ProbeResult) -> ToolVerdict:
    tool = "virtualenv"
    link = _link_problem(result)
    exe = _exec_problem(result)
    if exe is not None and link is None:
        return ToolVerdict(tool, ToolOutcome.WORKS, _linked_but_noexec(exe[0]), exe[1])
    if exe is not None:
        return ToolVerdict(tool, ToolOutcome.BREAKS, exe[0], exe[1])
    if link is not None:
        outcome = ToolOutcome.FAILS if result.symlink_create != OK else ToolOutcome.BREAKS
        if result.chmod_fails:  # (seeding pip sets script modes: it fails too)
            copies = f"'virtualenv --copies' fails too when it seeds pip: chmod {result.chmod}"
        elif result.chmod_ignored_harmfully:
            copies = "'virtualenv --copies' works, but bin/pip is left without its exec bit"
        else:
            copies = "'virtualenv --copies' works"
        return ToolVerdict(
            tool,
            outcome,
            f"it tests symlinks in the temp dir, not here, and links the interpreter; {link[0]} "
            f"({copies})",
            {**link[1], **({} if result.chmod == OK else _evidence(result, "chmod"))},
        )
    modes = _modes_verdict(tool, result, "it sets the mode of the seed packages' scripts")
    if modes is not None:
        return modes
    return ToolVerdict(tool, ToolOutcome.WORKS, "symlinks work here", _evidence(result, *READ_BACK))


def _uv_python_install(result: ProbeResult) -> ToolVerdict:
    tool = "uv python install (UV_PYTHON_INSTALL_DIR here)"
    link = _link_problem(result)
    exe = _exec_problem(result)
    if link is not None and result.symlink_create != OK:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"the install tree holds symlinks (bin/python3 -> python3.X, libpython); {link[0]}",
            link[1],
        )
    if result.chmod_fails:
        return ToolVerdict(
            tool,
            ToolOutcome.FAILS,
            f"setting the executables' modes fails ({result.chmod})",
            _evidence(result, "chmod"),
        )
    if exe is not None:
        return ToolVerdict(tool, ToolOutcome.BREAKS, exe[0], exe[1])
    if link is not None:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            f"the links inside the install tree cannot be followed: {link[0]}",
            link[1],
        )
    if result.chmod_ignored_harmfully:
        return ToolVerdict(
            tool,
            ToolOutcome.BREAKS,
            "modes are set after extraction and chmod is ignored here: the interpreter may "
            "land without its exec bit",
            _evidence(result, "chmod"),
        )
    return ToolVerdict(tool, ToolOutcome.WORKS, _modes_work(result), _modes_evidence(result))


def _modes_work(result: ProbeResult) -> str:
    if result.chmod_ignored_harmlessly:
        return "links work, and chmod is ignored but every file here is executable"
    return "links and chmod work here"


def _modes_evidence(result: ProbeResult) -> dict[str, str]:
    if result.chmod_ignored_harmlessly:
        return _evidence(result, "chmod", "exec_by_default")
    return _evidence(result, "chmod")


# -- anyvenv's own strategy ----------------------------------------------------------------------


def _strategy(result: ProbeResult, python: str | None) -> Placement:
    from anyvenv.envbuild.plan import plan_interpreter
    from anyvenv.interpreter.discovery import find_interpreter
    from anyvenv.interpreter.linkage import libpython_linkage
    from anyvenv.project.uvsettings import python_preference

    try:
        request, start = _venv_request(result.path)
        info = find_interpreter(
            python if python is not None else request,
            python_preference(None, start, (), os.environ, os.getcwd()),
        )
    except AnyvenvError as exc:  # (a version file venv would refuse: said the same way)
        if python is not None:  # what the user asked for does not exist: say so, exit 2
            raise
        stopped = exc.message + (f"; {exc.hint}" if exc.hint else "")
        return replace(_strategy_without_base(result, exc.message), stopped=stopped)
    try:
        plan = plan_interpreter(result, info, libpython_linkage(info.executable), Path(result.path))
    except (NothingExecutableHere, WritesLostHere) as exc:
        return Placement("none", "none", exc.message, info.executable)
    return Placement(plan.strategy.value, plan.library.value, plan.reason, info.executable)


def _venv_request(directory: str) -> tuple[str | None, str]:
    """The Python ``anyvenv venv`` (as ``uv venv``) would ask for in ``directory`` (a version
    file's, the project's requires-python, ``UV_PYTHON``; ``None``: any), and where it reads
    uv's settings from (the workspace root of the project there, else ``directory``)."""
    from anyvenv.project.model import python_for_venv

    found = python_for_venv(directory, os.environ)
    start = found.project.workspace_root if found.project is not None else directory
    return found.choice.request.raw.strip() or None, start


def _strategy_without_base(result: ProbeResult, why: str) -> Placement:
    from anyvenv.envbuild.plan import mode_shim_note

    if not result.can_execute:
        return Placement("none", "none", f"nothing can be executed here ({result.exec})", None)
    if not result.keeps_reopened_writes:
        why_not = f"a file reopened for writing loses its writes here ({result.reopen_write})"
        return Placement("none", "none", why_not, None)
    if result.symlinks_work:
        return Placement("symlink", "none", f"symlinks work{mode_shim_note(result)} ({why})", None)
    same_fs = "hard links" if result.hardlinks_work else ""
    if result.reflinks_work:
        same_fs = f"{same_fs} or reflinks" if same_fs else "reflinks"
    how = f"{same_fs} when the base is on this filesystem, else a copy" if same_fs else "a copy"
    note = mode_shim_note(result)
    return Placement("copy", "none", f"{result.why_no_symlinks}; {how}{note} ({why})", None)


# -- the user's other options --------------------------------------------------------------------


def _is_sshfs(result: ProbeResult) -> bool:
    return (result.fstype or "").endswith("sshfs")


def _options(result: ProbeResult) -> list[Option]:
    options: list[Option] = []
    bad = _bad_read_back(result)
    fstype = result.fstype or ""
    if _is_sshfs(result) and result.symlink_create == "EACCES":
        options.append(
            Option(
                "the SFTP server refuses to create links: ask its admin to allow them, or keep "
                "the environment off this share",
                _evidence(result, "symlink_create"),
            )
        )
    eacces = {name: value for name, value in bad.items() if value == "EACCES"}
    if eacces:
        where = "this sshfs mount" if _is_sshfs(result) else "this mount"
        options.append(
            Option(
                f"links made on {where} cannot be read back (EACCES), as on multipass's sshfs "
                "mounts: use a native mount type instead (multipass: 'multipass mount --type "
                "native'; or NFS/SMB with links)",
                eacces,
            )
        )
    elif _is_sshfs(result) and bad:
        options.append(
            Option(
                "sshfs rewrites links to absolute or '..' targets (contain_symlinks, Debian's "
                f"default): remount with '-o no_contain_symlinks' (sshfs ... {result.mount_point}"
                " -o no_contain_symlinks)",
                bad,
            )
        )
    if result.symlink_create not in (OK, "EACCES"):
        if fstype in CIFS_TYPES:
            advice = "mount the share with the 'mfsymlinks' option so that symlinks work"
        else:
            advice = (
                "symlinks are not supported by this filesystem; if it is an SMB/CIFS share, "
                "mount it with 'mfsymlinks'"
            )
        options.append(Option(advice, _evidence(result, "symlink_create")))
    if not result.can_execute:
        if "noexec" in result.mount_options:
            options.append(
                Option(
                    f"remount without noexec: mount -o remount,exec {result.mount_point}",
                    {**_evidence(result, "exec"), "mount_options": "noexec"},
                )
            )
        else:
            options.append(
                Option(
                    "the mount shows no file as executable (fixed modes): mount it with "
                    "executable file modes (CIFS: file_mode=0755)",
                    _evidence(result, "exec"),
                )
            )
    if not result.keeps_reopened_writes and fstype == "fuse.rclone":
        options.append(
            Option(
                "rclone without its VFS cache loses what is written to a file opened twice: "
                "mount it with --vfs-cache-mode writes",
                _evidence(result, "reopen_write"),
            )
        )
    trouble = (
        not result.symlinks_work
        or not result.can_execute
        or result.chmod != OK
        or not result.keeps_reopened_writes
        or result.rewrites != REWRITES_WORK
    )
    if trouble:
        evidence = {
            name: value
            for name, value in {
                **_evidence(result, "symlink_create"),
                **bad,
                **_evidence(result, "chmod", "exec", "reopen_write", "rename_open"),
            }.items()
            if value != OK
        }
        options.append(Option(_env_elsewhere_advice(result), evidence))
    return options


def _env_elsewhere_advice(result: ProbeResult) -> str:
    """Keep the env off this filesystem: in ``~/.venvs`` where uv sync works under the home,
    not where the home is on this filesystem too (a university's NFS/SMB home, a VM's shared
    folder) or on another where uv sync fails or breaks. Where uv cannot write the project's
    files here (chmod fails, or a file held open cannot be renamed: plain uv would lose or
    tear uv.lock), through ``anyvenv sync``, which locks in a copy."""
    directory = result.path
    from anyvenv.errors import NoHomeDirectory
    from anyvenv.fs.place import same_filesystem
    from anyvenv.userdirs import home_dir

    local = "/PATH/ON/A/LOCAL/DISK/NAME"
    try:
        home = home_dir()
    except NoHomeDirectory:
        home = ""
    if not home:
        where, also = local, " (you have no home directory here)"
    elif same_filesystem(home, directory):
        where, also = local, " (not under your home: it is on this filesystem too)"
    else:
        why_not = _why_uv_sync_fails_under(home)
        where, also = (
            (local, f" (not under your home: {why_not})") if why_not else ("~/.venvs/NAME", "")
        )
    if result.rewrites == REWRITES_WORK:
        command = "uv sync"
    else:
        also += f"; uv itself cannot write uv.lock here, as {result.why_rewrites_fail}"
        command = "anyvenv sync"
    return (
        f"keep the environment on a local disk{also} and the project here: "
        f"UV_PROJECT_ENVIRONMENT={where} {command} (a relative value is taken from the project "
        "root)"
    )


def _why_uv_sync_fails_under(home: str) -> str | None:
    """Why plain ``uv sync`` cannot make an env under ``home`` (another filesystem where it
    fails or breaks, or one that cannot be probed); ``None`` where it works."""
    try:
        verdict = _uv_sync(probe(home))
    except (OSError, AnyvenvError):  # (unwritable: uv could not make an env there either)
        return "it cannot be probed"
    if verdict.outcome is ToolOutcome.WORKS:
        return None
    return f"uv sync {verdict.outcome.value} there too: {verdict.reason}"

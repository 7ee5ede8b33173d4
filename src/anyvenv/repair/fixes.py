"""``anyvenv repair``, the plan: from a diagnosis, decide once what to change and how.

The interpreter placement is the env builder's (``plan_interpreter`` from a probe of the
env's own filesystem and the base's ELF facts); everything else is a small per-file fix.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.envbuild.layout import EnvLayout, site_packages_path
from anyvenv.envbuild.plan import InterpreterPlan, plan_interpreter
from anyvenv.errors import DirectoryNotWritable, EnvironmentBroken, UsageError
from anyvenv.fs import CFG_NAME
from anyvenv.fs.probe import ProbeResult, probe
from anyvenv.interpreter.linkage import Linkage, libpython_linkage
from anyvenv.interpreter.query import InterpreterInfo
from anyvenv.repair.base import discover_base, why_not_base
from anyvenv.repair.diagnose import Diagnosis
from anyvenv.repair.envstate import INTERPRETER_NAME, EntryKind, base_out_of_reach
from anyvenv.repair.findings import INTERPRETER_CODES, Code, Finding, Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from anyvenv.fs.inplace import CutFill


class FixKind(str, enum.Enum):
    PLACE_INTERPRETER = "place-interpreter"
    UPDATE_CONFIG = "update-config"
    RELINK_LIB64 = "relink-lib64"
    REMOVE_LIB64 = "remove-lib64"
    REWRITE_SHEBANG = "rewrite-shebang"
    REWRITE_ACTIVATION = "rewrite-activation"
    MAKE_EXECUTABLE = "make-executable"
    MOVE_EDITABLE = "move-editable"
    ADD_MODE_SHIM = "add-mode-shim"
    FINISH_FILL = "finish-fill"  # a fill in place a killed run left: finished or undone first


@dataclass(frozen=True)
class Fix:
    kind: FixKind
    path: Path
    description: str
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "fix": self.kind.value,
            "path": os.fsdecode(self.path),
            "description": self.description,
            "details": dict(self.details),
        }


@dataclass
class RepairPlan:
    """What repair will change, in order."""

    diagnosis: Diagnosis
    fixes: list[Fix]
    # uv's python-preference for a new base (None: uv's default), or what works it out: read
    # only where a base is looked up (a bad setting is no reason to refuse what needs none)
    preference: str | Callable[[], str | None] | None = None
    base: InterpreterInfo | None = None
    linkage: Linkage | None = None
    interpreter: InterpreterPlan | None = None
    interpreter_names: list[str] = field(default_factory=list)
    config_updates: dict[str, str] = field(default_factory=dict)
    cannot: list[str] = field(default_factory=list)  # what no repair can mend here, and why

    @property
    def env(self) -> Path:
        return self.diagnosis.env

    def to_json(self) -> list[dict[str, object]]:
        return [fix.to_json() for fix in self.fixes]


def unrepairable(diagnosis: Diagnosis) -> Finding | None:
    """The finding repair refuses: an unreadable pyvenv.cfg, a ``bin`` that is not a
    directory, or a pyvenv.cfg without ``home`` when nothing else (its version keys, one
    ``lib/pythonX.Y``) tells the packages' Python."""
    for finding in diagnosis.findings:
        if finding.code in (Code.CONFIG_UNREADABLE, Code.BIN_NOT_A_DIRECTORY):
            return finding  # (bin/ is someone's file or link: not ours to replace)
        if finding.code is Code.CONFIG_NO_HOME and (
            diagnosis.version is None or len(diagnosis.version) < 2
        ):
            return finding
    return None


def unwritable(env: Path) -> tuple[str, str] | None:
    """Why nothing in ``env`` can be changed where it is (a read-only mount, a directory the
    user may not write) and what to do first, or ``None`` (as far as can be told without
    writing: a filesystem may still refuse writes, see :func:`_probe`)."""
    from anyvenv.fs.probe import validate_probe_dir

    try:
        validate_probe_dir(env)
    except DirectoryNotWritable as exc:
        return exc.reason, _first_step(exc)
    except UsageError:  # gone meanwhile: the repair itself says so
        return None
    return None


def _first_step(refusal: DirectoryNotWritable) -> str:
    return "remount it read-write" if refusal.read_only else "work as its owner"


def plan_repair(
    diagnosis: Diagnosis, preference: str | Callable[[], str | None] | None = None
) -> RepairPlan:
    """The fixes for ``diagnosis`` (empty for a healthy env); a base Python is looked up, where
    one must be, with uv's python-preference ``preference``. Raises
    :class:`EnvironmentBroken` when the env cannot be repaired in place."""
    plan = RepairPlan(diagnosis, [], preference)
    if not diagnosis.findings:
        return plan
    fills = [finding for finding in diagnosis.findings if finding.code is Code.FILL_UNFINISHED]
    if fills:  # (the other findings may be what it left half-way: looked at again after it)
        plan.fixes += [_finish_fill(finding) for finding in fills]
        return plan
    refused = unrepairable(diagnosis)
    if refused is not None:
        why = (
            "repair does not replace what is there"
            if refused.code is Code.BIN_NOT_A_DIRECTORY
            else "without it repair cannot tell which Python the packages belong to"
        )
        raise EnvironmentBroken(
            f"cannot repair {diagnosis.env}: {refused.message}",
            f"{why}; recreate the environment (anyvenv venv --clear {diagnosis.env}) and reinstall",
        )
    out = None if diagnosis.usable else base_out_of_reach(diagnosis.env)
    if out is not None:  # (not gone: what it would be moved onto another Python for)
        raise EnvironmentBroken(f"cannot repair {diagnosis.env}: {out.reason()}", out.let_in())
    probed: ProbeResult | None = None
    if _needs_interpreter(diagnosis):
        probed = _probe(diagnosis.env)
        _plan_interpreter(plan, probed)
    _plan_config(plan)
    if diagnosis.has(Code.LIB64_UNREADABLE, Code.LIB64_DANGLING):
        probed = probed or _probe(diagnosis.env)
        _plan_lib64(plan, probed)
    _plan_scripts(plan)
    _plan_modes(plan, probed)
    _plan_activation(plan)
    if plan.fixes:  # (written anyway: an env another tool made here gets what pip needs too)
        probed = probed or _probe(diagnosis.env)
        if probed.needs_mode_shim:
            _plan_mode_shim(plan)
    stuck = unwritable(diagnosis.env) if plan.fixes else None  # nothing to write: no matter
    if stuck is not None:
        why, first = stuck
        raise EnvironmentBroken(
            f"cannot repair {diagnosis.env}: {why}", f"{first}, then run anyvenv repair again"
        )
    return plan


def describe_updates(updates: dict[str, str]) -> str:
    """``set KEY = VALUE, ...``: a config fix's words."""
    return "set " + ", ".join(f"{key} = {value}" for key, value in updates.items())


def _finish_fill(finding: Finding) -> Fix:
    """The fix of a ``fill-unfinished`` finding: the fill finished (nothing is undone) or
    undone, as the next ``anyvenv venv`` would; one repair does not act on
    (:func:`refuse_fills`) is refused."""
    from anyvenv.fs.inplace import cut_fills

    journal = Path(finding.path or "")
    found = [fill for fill in cut_fills(os.fspath(journal.parent)) if fill.journal == finding.path]
    refuse_fills(journal.parent, found)
    if not found:  # (gone meanwhile: refused as the check found it)
        raise UsageError(finding.message)
    verb = "remove" if found[0].finishes else "put back"
    return Fix(FixKind.FINISH_FILL, journal, f"{verb} {found[0].cleared}, then look again")


def refuse_fills(env: str | os.PathLike[str], found: list[CutFill] | None = None) -> None:
    """Raise :class:`~anyvenv.errors.UsageError` for a fill of ``env`` in place (``found``:
    its :func:`~anyvenv.fs.inplace.cut_fills`, when looked up already) that repair does not
    act on: one whose journal cannot be read, and one that held no environment before it (its
    undo would leave none, its finish is the stopped command's work), as the check says it."""
    from anyvenv.fs.inplace import cut_fills

    path = os.path.abspath(os.fspath(env))
    for fill in cut_fills(path) if found is None else found:
        if fill.phase is None:
            raise UsageError(fill.what, fill.fix)
        if not fill.finishes and not fill.restores:  # (as resolve_environment says it)
            raise UsageError(
                f"{os.fspath(env)} is not a virtual environment now: {fill.what}", fill.fix
            )


def _needs_interpreter(diagnosis: Diagnosis) -> bool:
    return any(
        finding.code in INTERPRETER_CODES
        or (finding.code is Code.VERSION_MISMATCH and finding.severity is Severity.ERROR)
        for finding in diagnosis.findings
    )


def _probe(env: Path) -> ProbeResult:
    """The probe of the env's own directory; one that cannot write there (a filesystem that
    refuses writes though mounted read-write) is said as repair's refusal."""
    try:
        return probe(env, keep_times=True)  # (a dry run leaves the env as it was)
    except DirectoryNotWritable as exc:
        raise EnvironmentBroken(
            f"cannot repair {env}: {exc.reason}",
            f"{_first_step(exc)}, then run anyvenv repair again",
        ) from exc


def _base_for(plan: RepairPlan) -> InterpreterInfo:
    diagnosis = plan.diagnosis
    lookup = diagnosis.base
    if lookup is not None and lookup.info is not None:
        return lookup.info
    if diagnosis.version is None or len(diagnosis.version) < 2:
        raise EnvironmentBroken(
            f"cannot repair {diagnosis.env}: neither pyvenv.cfg nor lib/ says which Python "
            "version it is for",
            f"recreate it (anyvenv venv --clear {diagnosis.env}) and reinstall its packages",
        )
    linked = _linked_base(diagnosis)
    if linked is not None:
        return linked
    preference = plan.preference() if callable(plan.preference) else plan.preference
    return discover_base(diagnosis.version, diagnosis.free_threaded, preference)


def _linked_base(diagnosis: Diagnosis) -> InterpreterInfo | None:
    """The base that the env's own ``bin/python`` links to, when that runs as the env's X.Y
    and build (a pyvenv.cfg that lost its ``home``: the link still says which Python it is)."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.fs.paths import is_below
    from anyvenv.interpreter.query import query_interpreter

    python = diagnosis.env / "bin" / "python"
    real = os.path.realpath(python)
    if not python.is_symlink() or is_below(real, os.fspath(diagnosis.env)):
        return None
    try:
        info = query_interpreter(real)
    except (AnyvenvError, OSError):
        return None
    return info if why_not_base(info, diagnosis.version, diagnosis.free_threaded) is None else None


def _plan_interpreter(plan: RepairPlan, probed: ProbeResult) -> None:
    diagnosis = plan.diagnosis
    info = _base_for(plan)
    linkage = libpython_linkage(info.executable)
    placement = plan_interpreter(probed, info, linkage, diagnosis.env)
    names = EnvLayout(os.fspath(diagnosis.env), info).executable_names()
    extras = [
        entry.path.name
        for entry in diagnosis.entries
        if entry.path.name not in names and entry.kind is not EntryKind.MISSING and not entry.usable
    ]
    plan.base, plan.linkage, plan.interpreter = info, linkage, placement
    plan.interpreter_names = names + extras
    library = (
        "" if placement.library.value == "none" else f", libpython by {placement.library.value}"
    )
    plan.fixes.append(
        Fix(
            FixKind.PLACE_INTERPRETER,
            diagnosis.env / "bin",
            f"place {', '.join('bin/' + n for n in plan.interpreter_names)} from "
            f"{info.executable} (CPython {info.version_text}) by {placement.strategy.value}"
            f"{library}: {placement.reason}",
            {
                "base": info.executable,
                "strategy": placement.strategy.value,
                "libpython": placement.library.value,
                "names": ",".join(plan.interpreter_names),
            },
        )
    )


def _plan_config(plan: RepairPlan) -> None:
    diagnosis = plan.diagnosis
    cfg = diagnosis.config or {}
    updates: dict[str, str] = {}
    info = plan.base
    from_config = diagnosis.base is not None and diagnosis.base.info is not None
    if not cfg.get("home"):  # (known from executable = or the env's X.Y: unrepairable says)
        named = info or _base_for(plan)
        updates["home"] = named.home
        # a config rewritten from nothing (emptied, garbage): what uv and venv write too
        if "implementation" not in cfg:
            updates["implementation"] = named.implementation
        if "version_info" not in cfg and "version" not in cfg:
            updates["version_info"] = named.version_text
    if info is not None and not from_config:  # a new base found by discovery
        updates["home"] = info.home
        for key in ("base-executable", "executable"):
            if key in cfg:
                updates[key] = info.executable
        updates.update(_base_prefixes(cfg, info))
    elif diagnosis.has(Code.HOME_STALE, Code.STDLIB_OTHER_BUILD) and from_config:
        assert diagnosis.base is not None and diagnosis.base.info is not None
        updates["home"] = diagnosis.base.info.home  # where the base the config names is
        updates.update(_base_prefixes(cfg, diagnosis.base.info))
    if plan.interpreter is not None:
        for key, value in (
            ("anyvenv-strategy", plan.interpreter.strategy.value),
            ("anyvenv-libpython", plan.interpreter.library.value),
        ):
            if key in cfg:
                updates[key] = value
    actual_version = info.version_text if info is not None else None
    for finding in diagnosis.findings:
        if finding.code is Code.VERSION_MISMATCH and "interpreter" in finding.evidence:
            actual_version = actual_version or finding.evidence["interpreter"]
            updates.update(_versions(cfg, actual_version))
    if info is not None and not from_config:
        updates.update(_versions(cfg, info.version_text))
    updates = {key: value for key, value in updates.items() if cfg.get(key) != value}
    if not updates:
        return
    plan.config_updates = updates
    plan.fixes.append(
        Fix(
            FixKind.UPDATE_CONFIG,
            diagnosis.env / CFG_NAME,
            describe_updates(updates),
            dict(updates),
        )
    )


def _base_prefixes(cfg: dict[str, str], base: InterpreterInfo) -> dict[str, str]:
    """virtualenv's ``base-prefix`` and ``base-exec-prefix``, where the config has them, set to
    the new base's (left naming the old one, they name a base that is gone)."""
    values = {"base-prefix": base.prefix, "base-exec-prefix": base.exec_prefix}
    return {key: value for key, value in values.items() if key in cfg}


_LEVELS = {"a": "alpha", "b": "beta", "rc": "candidate"}


def _versions(cfg: dict[str, str], version: str) -> dict[str, str]:
    """``version_info`` and ``version``, where the config has them, set to ``version``
    (``3.12.1``, ``3.13.0rc1``) in the form each had: virtualenv's five-part
    ``version_info = 3.12.1.final.0`` stays five-part."""
    values: dict[str, str] = {k: version for k in ("version_info", "version") if k in cfg}
    if "version_info" in values and len(cfg["version_info"].split(".")) == 5:
        values["version_info"] = _five_parts(version)
    return values


def _five_parts(version: str) -> str:
    """``3.12.1`` -> ``3.12.1.final.0``; ``3.13.0rc1`` -> ``3.13.0.candidate.1`` (as
    ``sys.version_info`` reads, which virtualenv writes)."""
    for short, level in _LEVELS.items():
        release, found, serial = version.partition(short)
        if found and serial.isdigit():
            return f"{release}.{level}.{serial}"
    return f"{version}.final.0"


def config_prompt(cfg: dict[str, str]) -> str | None:
    """pyvenv.cfg's ``prompt`` as its maker meant it: venv writes a repr (``'demo'``),
    virtualenv wraps it in double quotes (``"demo"``), uv writes it bare."""
    raw = cfg.get("prompt")
    if not raw or len(raw) < 2 or raw[0] not in "'\"" or raw[-1] != raw[0]:
        return raw or None
    if "virtualenv" not in cfg:  # venv's repr: its escapes read back as Python reads them
        import ast

        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, str):
            return value
    return raw[1:-1]  # (virtualenv reads its own so: one matching pair off)


def _plan_lib64(plan: RepairPlan, probed: ProbeResult) -> None:
    path = plan.env / "lib64"
    if probed.symlinks_work:
        plan.fixes.append(
            Fix(FixKind.RELINK_LIB64, path, "replace lib64 by a fresh link lib64 -> lib")
        )
        return
    why = probed.why_no_symlinks
    plan.fixes.append(
        Fix(
            FixKind.REMOVE_LIB64,
            path,
            f"remove the lib64 link (optional, nothing needs it; {why})",
            {"symlink_create": probed.symlink_create, "symlink_relative": probed.symlink_relative},
        )
    )


def _plan_scripts(plan: RepairPlan) -> None:
    placed = set(plan.interpreter_names) or {
        entry.path.name for entry in plan.diagnosis.entries if entry.kind is not EntryKind.MISSING
    }
    for script in plan.diagnosis.scripts:
        new = script.replacement
        if INTERPRETER_NAME.match(os.path.basename(new)) and os.path.basename(new) not in placed:
            new = os.fspath(plan.env / "bin" / "python")  # (a python name the env lacks)
        plan.fixes.append(
            Fix(
                FixKind.REWRITE_SHEBANG,
                script.path,
                f"make bin/{script.path.name} run {new} instead of {script.shebang.interpreter}",
                {"old": script.shebang.interpreter, "new": new},
            )
        )


def nothing_executable_here(env: Path, probed: ProbeResult | None = None) -> str | None:
    """Why no script of ``env`` can be made executable where it is (fixed 0644 modes,
    noexec: writing them anew cannot help) and what to do instead; ``None`` where files can
    be executable."""
    probed = probed or _probe(env)
    if probed.can_execute:
        return None
    return (
        f"no file can be executable on this filesystem (exec: {probed.exec}); {KEEP_IT_ELSEWHERE}"
    )


KEEP_IT_ELSEWHERE = (
    "keep the environment on another one ('anyvenv sync' does so for a project by itself), or "
    "run its scripts with its python"
)
"""What to do where no file can be executed (check's words; run's too)."""


def stuck_words(stuck: tuple[str, str], env: str | os.PathLike[str]) -> str:
    """What to do where ``env`` cannot be repaired where it is (``stuck``: what
    :func:`unwritable` said of it): check's words, and run's."""
    import shlex

    why, first = stuck
    return (
        f"it cannot be repaired where it is: {why}; {first}, then run: "
        f"anyvenv repair {shlex.quote(os.fspath(env))}"
    )


def _plan_modes(plan: RepairPlan, probed: ProbeResult | None) -> None:
    unexecutable = [f for f in plan.diagnosis.findings if f.code is Code.SCRIPT_NOT_EXECUTABLE]
    if unexecutable:
        probed = probed or _probe(plan.env)
        nowhere = nothing_executable_here(plan.env, probed)
        if nowhere is not None:
            names = ", ".join("bin/" + Path(f.path or "").name for f in unexecutable)
            plan.cannot.append(f"make {names} executable: {nowhere}")
            return
    for finding in unexecutable:
        if finding.path is not None:
            path = Path(finding.path)
            plan.fixes.append(
                Fix(
                    FixKind.MAKE_EXECUTABLE,
                    path,
                    f"write bin/{path.name} anew with its exec bits set at creation (mode "
                    f"{finding.evidence.get('mode', 'unknown')})",
                )
            )
    if unexecutable and probed is not None and not probed.chmod_works:
        _plan_mode_shim(plan)


def _plan_mode_shim(plan: RepairPlan) -> None:
    """Where chmod fails or is ignored, an env without anyvenv's chmod shim has pip write
    scripts that cannot run again after repair: the shim goes into its site-packages."""
    from anyvenv.envbuild.modeshim import SHIM_PTH

    version = plan.diagnosis.version
    if version is None or len(version) < 2:
        return
    site = plan.env / site_packages_path(version, plan.diagnosis.free_threaded)
    planned = any(fix.kind is FixKind.ADD_MODE_SHIM for fix in plan.fixes)
    if site.is_dir() and not (site / SHIM_PTH).exists() and not planned:
        plan.fixes.append(
            Fix(
                FixKind.ADD_MODE_SHIM,
                site,
                "add anyvenv's chmod shim, so that what pip installs later gets its exec bits",
            )
        )


def _plan_activation(plan: RepairPlan) -> None:
    _plan_editables(plan)  # before the activation scripts: they mark the env as moved
    for finding in plan.diagnosis.findings:
        if finding.code is Code.ACTIVATION_MISSING:
            plan.fixes.append(
                Fix(
                    FixKind.REWRITE_ACTIVATION,
                    plan.env / "bin",
                    f"write activation scripts that activate {plan.env} (there were none)",
                    {"old": ""},
                )
            )
        if finding.code is Code.ACTIVATION_STALE:
            old = finding.evidence["activates"]
            plan.fixes.append(
                Fix(
                    FixKind.REWRITE_ACTIVATION,
                    plan.env / "bin",
                    f"write activation scripts that activate {plan.env} (they activate {old})",
                    {"old": old},
                )
            )
        if finding.code is Code.ACTIVATION_EMPTY:
            names = finding.evidence["scripts"]
            plan.fixes.append(
                Fix(
                    FixKind.REWRITE_ACTIVATION,
                    plan.env / "bin",
                    f"write {names.replace(chr(10), ', ')} again, activating {plan.env} (empty)",
                    {"empty": names},
                )
            )


def _plan_editables(plan: RepairPlan) -> None:
    for finding in plan.diagnosis.findings:
        if finding.code is Code.EDITABLE_STALE:
            old, new = finding.evidence["old"], finding.evidence["new"]
            for name in finding.evidence["files"].split("\n"):
                plan.fixes.append(
                    Fix(
                        FixKind.MOVE_EDITABLE,
                        Path(name),
                        f"name {new} instead of {old} (an editable install)",
                        {"old": old, "new": new},
                    )
                )


def readable_by_site(line: str) -> bool:
    """Whether CPython's ``site`` reads ``line`` (decoded with surrogateescape) without
    failing: valid UTF-8, no NUL."""
    return "\0" not in line and not any("\udc80" <= char <= "\udcff" for char in line)


def edit_config_text(text: str, updates: dict[str, str]) -> str:
    """``text`` with the values of ``updates``' keys replaced in place (order, spelling of
    keys and every other line kept); keys not present are appended. Lines CPython's ``site``
    cannot read (bytes that are not UTF-8, NUL: it stops with a fatal error) are dropped."""
    remaining = dict(updates)
    parts = text.split("\n")  # only "\n" ends a line, as for CPython (parse_pyvenv_cfg)
    lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    lines = [line for line in lines if readable_by_site(line)]
    for index, line in enumerate(lines):
        key, sep, _ = line.partition("=")
        name = key.strip().lower()
        if sep and name in remaining:
            ending = "\n" if line.endswith("\n") else ""
            lines[index] = f"{key.strip()} = {remaining.pop(name)}{ending}"
    if remaining and lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines += [f"{key} = {value}\n" for key, value in remaining.items()]
    return "".join(lines)

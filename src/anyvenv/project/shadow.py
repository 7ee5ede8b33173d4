"""The shadow env: where chmod does not work in the env's filesystem, uv installs into an env
on local disk (per env, in the user cache) whose packages anyvenv then mirrors into the env
with their modes set at creation (:mod:`anyvenv.project.mirror`)."""

from __future__ import annotations

import os

from anyvenv.envbuild.config import read_pyvenv_cfg
from anyvenv.errors import EnvironmentBroken
from anyvenv.project.owners import EnvKind, record_owner

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:  # the no-op path imports no mirror
    from collections.abc import Callable
    from pathlib import Path
    from typing import Protocol

    from anyvenv.project.envchoice import EnvLocation
    from anyvenv.project.mirror import EnvTree, MirrorReport
    from anyvenv.project.state import SyncState
    from anyvenv.repair.findings import Finding

    class ShadowedEnv(Protocol):
        """An env that uv installs into through its shadow: a project's
        (:class:`anyvenv.project.prepare.PreparedEnv`), or one no project stands for
        (:class:`anyvenv.project.barepip.BareEnv`)."""

        @property
        def location(self) -> EnvLocation: ...

        @property
        def state(self) -> SyncState: ...

        @property
        def project_root(self) -> str | None: ...


def shadow_fits(shadow: str, saved: SyncState) -> bool:
    """Whether the shadow env is ours, of the env's base and its Python release (uv replaces
    a shadow whose pyvenv.cfg names another release than runs: one made before the base was
    upgraded in place is made again)."""
    from anyvenv.envbuild.config import MADE_BY_KEY, config_version

    try:
        cfg = read_pyvenv_cfg(shadow)
    except EnvironmentBroken:
        return False
    from anyvenv.fs.paths import same_file

    said = config_version(cfg) or ()  # (X.Y alone where made through uv's minor-version link)
    return (
        same_file(cfg.get("home", ""), os.path.dirname(saved.base_executable))
        and MADE_BY_KEY in cfg
        and len(said) >= 2
        and said == tuple(saved.version)[: len(said)]
        and os.path.exists(os.path.join(shadow, "bin", "python"))
    )


MIRROR_JOURNAL = ".anyvenv-mirror-journal"
"""In the shadow env, while its packages are mirrored into the env: the files being placed
(:func:`anyvenv.project.mirror.mirror`'s ``journal``). One left behind says that a mirror into
the env did not end: the env may be half-made, and the shadow, not the env, says what is
installed."""


def journal_of(shadow: str) -> Path:
    from pathlib import Path

    return Path(shadow, MIRROR_JOURNAL)


def with_unfinished_copy(env: str | os.PathLike[str], findings: list[Finding]) -> list[Finding]:
    """``findings`` of the env at ``env`` with a warning where the last mirror from its
    shadow into it did not end (its journal is still there): the packages the journal names
    may be missing or half-copied, and the stopped command finishes them (their own
    ``package-incomplete`` findings, whose fix is another, are left out). ``findings`` as
    they are where the env has no shadow, as most have not."""
    from anyvenv.project import state as state_store

    shadow = state_store.shadow_named(os.fspath(env))  # (whichever release saved the state)
    if not shadow:
        return findings
    journal = journal_of(shadow)
    if not os.path.lexists(journal):
        return findings
    from anyvenv.envbuild.dists import dist_info_name
    from anyvenv.project.mirror import read_journal
    from anyvenv.repair.findings import Code, warning

    named = set(read_journal(journal))
    if not named:  # (every distribution was placed whole: only the journal was left)
        return findings
    kept = [
        finding
        for finding in findings
        if finding.code is not Code.PACKAGE_INCOMPLETE
        or dist_info_name(os.path.basename(finding.path or "")) not in named
    ]
    return [
        *kept,
        warning(
            Code.COPY_UNFINISHED,
            f"the copy of packages into it from its shadow env {shadow} did not finish "
            f"(anyvenv was stopped, or a write there failed: no space left, an I/O error): "
            f"{', '.join(sorted(named)) or 'its packages'} may be "
            "missing or half-copied; run the stopped command again ('anyvenv sync' in its "
            "project, or the 'anyvenv pip' command on this env): it finishes the copy",
            journal,
        ),
    ]


def ensure_shadow(prepared: ShadowedEnv, keep_all: bool = False) -> bool:
    """Make the shadow env if it is missing or stale. The env is only ever written by the
    mirror, whose journal is there until it ends; with no journal the env is whole: a new
    shadow is seeded with the env's packages (so uv sees what is installed), a healthy one
    is given what was installed in or removed from the env itself since (by a plain ``uv
    pip``, ``uv sync`` or ``pip``: else uv would not see it, and the mirror back would undo
    it). A mirror into the env that did not end (its journal is there) may have left it
    half-made: a healthy shadow then takes only the complete packages of projects it lacks
    entirely (installed by hand), and a new one nothing: uv installs what the shadow lacks,
    and the mirror back copies only what differs. ``keep_all`` (``uv pip``, which must not
    take away what it was not asked to): a new shadow is seeded with the env's complete
    packages, as the mirror back removes what the shadow lacks. Returns whether it was
    made."""
    shadow = prepared.location.shadow
    assert shadow is not None
    saved = prepared.state
    healthy = shadow_fits(shadow, saved)
    from anyvenv.project.mirror import adopt_added, dist_info_dirs, mirror, read_journal

    journal = journal_of(shadow)
    pending = journal.exists()
    adopt = not pending
    placing = read_journal(journal) if pending else {}  # (the shadow says what they are)

    env_tree, shadow_tree = tree_of(prepared.location.env, saved), tree_of(shadow, saved)
    if healthy:
        if dist_info_dirs(env_tree) != dist_info_dirs(shadow_tree):
            if adopt:
                mirror(env_tree, shadow_tree, complete_only=True)
            else:
                adopt_added(env_tree, shadow_tree, skip=placing)
        return False
    from anyvenv.fs.remove import remove_tree
    from anyvenv.interpreter.query import query_interpreter

    base = query_interpreter(saved.base_executable)
    if os.path.lexists(shadow):
        remove_tree(shadow)

    from anyvenv.project.envmake import build_at

    build_at(shadow, base)
    record_owner(shadow, prepared.location.declared, EnvKind.SHADOW, project=prepared.project_root)
    if pending:  # (kept: it names the files of the env's half-made packages)
        from anyvenv.project.mirror import write_journal

        write_journal(journal, placing, {})
    if pending or adopt or keep_all:
        adopt_added(env_tree, shadow_tree, skip=placing)  # (into the empty shadow)
    return True


RecordStamps = dict[str, tuple[int, int]]


def record_stamps(shadow: str, saved: SyncState) -> RecordStamps:
    """Each distribution of the shadow, by name: its RECORD's inode and time (which uv's
    install of it changes, a reinstall too)."""
    from anyvenv.project.mirror import distributions

    tree = tree_of(shadow, saved)
    stamps: RecordStamps = {}
    for name, dist in distributions(tree.site_packages).items():
        try:
            st = os.stat(tree.site_packages / dist.dist_info / "RECORD")
        except OSError:
            continue
        stamps[name] = (st.st_ino, st.st_mtime_ns)
    return stamps


def reinstalled(
    asked: bool | set[str], shadow: str, saved: SyncState, before: RecordStamps | None
) -> bool | set[str]:
    """What to copy again into the env though its RECORD is alike (``mirror``'s ``again``):
    for ``uv pip``'s ``--reinstall`` (``asked`` is ``True``: what it resolved, not the whole
    env), the distributions whose RECORD uv wrote since ``before``; names asked for as
    they are."""
    if asked is not True or before is None:
        return asked
    after = record_stamps(shadow, saved)
    return {name for name, stamp in after.items() if before.get(name) != stamp}


def mirror_into_env(
    prepared: ShadowedEnv,
    progress: Callable[[int, int], object] | None,
    again: bool | set[str],
    on_note: Callable[[str], object] | None,
    compiles: bool,
    keep_seed: bool = False,
) -> MirrorReport:
    """After uv ran on the shadow: :func:`mirror_shadow`, ``on_note`` told of packages left
    half-made (see :func:`half_made_note`), and, where uv compiled the shadow's packages
    (``compiles``), the env's site-packages compiled by its own python."""
    report = mirror_shadow(prepared, progress, again, keep_seed)
    env = prepared.location.env
    if report.half_made and on_note is not None:
        on_note(half_made_note(env, report.half_made))
    if compiles:
        from anyvenv.project.mirror import compile_bytecode

        compile_bytecode(tree_of(env, prepared.state))
    return report


def half_made_note(env: str, names: list[str]) -> str:
    """What to tell of packages a mirror left as they are, half-made (see
    :attr:`anyvenv.project.mirror.MirrorReport.half_made`)."""
    import shlex

    listed = ", ".join(names)
    return (
        f"warning: {listed} in {env}: an install that did not finish left it without its "
        f"RECORD, and its files cannot be told; reinstall it ('anyvenv pip install --python "
        f"{shlex.quote(env)} --reinstall {names[0]}') or remove the env"
    )


def tree_of(root: str, saved: SyncState) -> EnvTree:
    from anyvenv.project.mirror import EnvTree

    return EnvTree.of(root, saved.site_packages)


def mirror_shadow(
    prepared: ShadowedEnv,
    progress: Callable[[int, int], object] | None = None,
    again: bool | set[str] = False,
    keep_seed: bool = False,
) -> MirrorReport:
    """Bring the shadow env's distributions into the env (``progress``, ``again``: see
    ``mirror``). ``keep_seed`` (``uv sync``, which never removes them from an env it did
    not make): the env's pip (and setuptools and wheel before 3.12) stay. Distributions the
    env's filesystem refuses are removed from the shadow too, so that the next command (one
    that installs something else) does not meet them again (:class:`NotPlaced` is raised)."""
    from anyvenv.project.mirror import NotPlaced, mirror, remove_distributions

    shadow = prepared.location.shadow
    assert shadow is not None
    version = tuple(prepared.state.version[:2])
    seed = ("pip", "uv") if version >= (3, 12) else ("pip", "setuptools", "wheel", "uv")
    try:
        return mirror(
            tree_of(shadow, prepared.state),
            tree_of(prepared.location.env, prepared.state),
            progress,
            again=again,
            keep=seed if keep_seed else (),
            journal=journal_of(shadow),
        )
    except NotPlaced as exc:  # the shadow lets them go too: it says what the env holds
        remove_distributions(tree_of(shadow, prepared.state), exc.refused)
        raise

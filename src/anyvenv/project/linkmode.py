"""How uv links package files from its cache into the env: decided once, not left to uv's
trial, fallback and warning.

clone where reflinks work between the cache and the env (copy-on-write: the env can be edited
without touching the cache), hard link where they share a filesystem that allows it, copy
otherwise. ``--link-mode``, ``UV_LINK_MODE`` or ``link-mode`` in uv's settings files (uv.toml,
``[tool.uv]``) forces one, in that order, as in uv; a forced symlink mode is refused where the
links uv would make cannot be read back (see :func:`refuse_unreadable_links`).
"""

from __future__ import annotations

import os

from anyvenv.errors import UsageError
from anyvenv.record import StrChoice, record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from anyvenv.fs.probe import ProbeResult
    from anyvenv.project.state import SyncState


class LinkMode(str, StrChoice):
    """uv's ``--link-mode`` values."""

    CLONE = "clone"
    HARDLINK = "hardlink"
    COPY = "copy"
    SYMLINK = "symlink"


@record
class LinkChoice:
    mode: LinkMode
    reason: str


class LinkModeRefused(UsageError):
    """The link mode asked for would leave an env whose packages cannot be read; raised
    before uv runs, so the caller can leave the env as it was."""


def parse_link_mode(value: str, where: str) -> LinkMode:
    try:
        return LinkMode(value.strip().lower())
    except ValueError:
        choices = ", ".join(mode.value for mode in LinkMode)
        raise UsageError(f"{where} {value!r} is not a link mode", f"use one of {choices}") from None


def forced_link_mode(cli_value: str | None, environ: Mapping[str, str]) -> LinkChoice | None:
    """The mode the user asked for, if any (the command line wins over the environment)."""
    if cli_value:
        return LinkChoice(parse_link_mode(cli_value, "--link-mode"), "asked for (--link-mode)")
    value = environ.get("UV_LINK_MODE")
    if value:
        return LinkChoice(parse_link_mode(value, "UV_LINK_MODE"), "asked for (UV_LINK_MODE)")
    return None


def choose_link_mode(env_probe: ProbeResult | None, same_filesystem: bool) -> LinkChoice:
    """From the probe of the env's filesystem and whether uv's cache is on it too (only then
    is the probe needed: one filesystem, one probe)."""
    if not same_filesystem or env_probe is None:
        return LinkChoice(
            LinkMode.COPY, "the uv cache is on another filesystem (or another mount of it)"
        )
    if env_probe.reflinks_work:
        return LinkChoice(LinkMode.CLONE, "reflinks work between the uv cache and the env")
    if env_probe.hardlinks_work:
        return LinkChoice(LinkMode.HARDLINK, "the uv cache and the env share a filesystem")
    return LinkChoice(
        LinkMode.COPY,
        f"neither reflinks ({env_probe.reflink}) nor hard links ({env_probe.hardlink}) work here",
    )


def decide_link_mode(
    saved: SyncState,
    install_target: str,
    forced: LinkChoice | None,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    cache_dir: Callable[[], str],
    config_sources: list[str] | None = None,
) -> LinkChoice:
    """The link mode uv installs with into ``install_target`` (the env, or its shadow): the
    one ``forced``, else the decision ``saved`` keeps for this cache, else one made now (and
    kept in ``saved``). ``cache_dir`` (asked only when there is no decision for this cache)
    says where uv's cache is; ``config_sources``, the uv config files that may name it, if
    already found."""
    if forced is not None:
        refuse_unreadable_links(forced, install_target)
        return forced
    from anyvenv.project.state import link_basis
    from anyvenv.project.uvcache import cache_dir_arguments

    key = cache_dir_arguments(uv_args, environ, cwd, config_sources)
    if (
        saved.link_mode
        and saved.uv_cache_key == key
        # (decided on these mounts: the cache or the env seen through another mount of the
        # same disk, or through an image layer, is decided again)
        and saved.link_basis == link_basis(install_target, saved.uv_cache_dir)
    ):
        return LinkChoice(LinkMode(saved.link_mode), saved.link_reason or "decided before")
    from anyvenv.errors import DirectoryNotWritable
    from anyvenv.fs.place import same_filesystem
    from anyvenv.fs.probe import probe, probe_path_for

    cache_path = cache_dir()
    cache = probe_path_for(cache_path)
    same = same_filesystem(install_target, cache)
    try:
        choice = choose_link_mode(probe(install_target) if same else None, same)
    except DirectoryNotWritable as exc:  # another user's env, or one on a read-only mount:
        # uv changes nothing there (or fails as plain uv would); nothing is kept either
        return LinkChoice(LinkMode.COPY, f"the env cannot be written: {exc.reason}")
    saved.link_mode, saved.link_reason, saved.uv_cache_key = choice.mode.value, choice.reason, key
    saved.uv_cache_dir, saved.link_basis = cache_path, link_basis(install_target, cache_path)
    return choice


def refuse_unreadable_links(forced: LinkChoice, install_target: str) -> None:
    """:class:`LinkModeRefused` where the symlink mode was asked for and the links uv makes
    in ``install_target`` (absolute: into its cache) are made there but cannot be read back
    (sshfs, whose ``contain_symlinks`` refuses an absolute target, or a server that refuses
    every readlink): uv takes them as made, and installs packages no one can import (a
    wheel with scripts in its data fails). Where links cannot be made at all, uv copies
    instead (with a warning); a shadow env on local disk takes them."""
    if forced.mode is not LinkMode.SYMLINK or not os.path.isdir(install_target):
        return
    from anyvenv.errors import DirectoryNotWritable
    from anyvenv.fs.outcome import NO, OK
    from anyvenv.fs.probe import probe

    try:
        found = probe(install_target)
    except DirectoryNotWritable:  # (uv changes nothing there, or fails as plain uv would)
        return
    if found.symlink_create != OK or found.symlink_absolute == OK:
        return
    outcome = found.symlink_absolute
    raise LinkModeRefused(
        f"link mode symlink was {forced.reason}, but uv's links into its cache cannot be "
        f"read back on {found.fstype or 'the filesystem'} at {install_target} (absolute "
        f"links: {'they read back changed' if outcome == NO else outcome})",
        "use link mode copy, or none: anyvenv chooses by itself",
    )

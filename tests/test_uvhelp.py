"""Reading a uv subcommand's options from its --help, and carrying options from one
subcommand to another (a sync's options to the ``uv lock`` it runs first)."""

from __future__ import annotations

from project_support import uv_binary

from anyvenv.project.uvhelp import carried_over, parse_help, uv_options

HELP = """Usage: uv sync [OPTIONS]

Options:
      --extra <EXTRA>
          Include optional dependencies
  -U, --upgrade
          Allow package upgrades
  -P, --upgrade-package <UPGRADE_PACKAGE>
          Allow upgrades for a specific package
  -q, --quiet...
      --frozen
"""


def test_help_lines_give_names_values_and_short_letters() -> None:
    options = parse_help(HELP)
    assert options.long == {"--extra", "--upgrade", "--upgrade-package", "--quiet", "--frozen"}
    assert options.with_value == {"--extra", "--upgrade-package"}
    assert options.short == {"U": "--upgrade", "P": "--upgrade-package", "q": "--quiet"}


def test_the_real_uv_sync_and_lock_are_read() -> None:
    sync, lock = uv_options(uv_binary(), "sync"), uv_options(uv_binary(), "lock")
    assert {"--extra", "--find-links", "--frozen", "--no-dev"} <= sync.long
    assert {"--find-links", "--upgrade", "--offline"} <= lock.long
    assert not {"--extra", "--no-dev", "--group"} & lock.long
    assert sync.short["f"] == "--find-links" and "--find-links" in sync.with_value


def test_only_what_the_target_takes_is_carried_over() -> None:
    sync, lock = uv_options(uv_binary(), "sync"), uv_options(uv_binary(), "lock")
    args = [
        "--extra", "x", "--find-links", "w", "--no-dev", "-qU", "-P", "gamma", "-Pbeta",
        "--group=dev", "--index-url=https://i", "--offline", "stray",
    ]  # fmt: skip
    assert carried_over(args, sync, lock) == [
        "--find-links", "w", "--quiet", "--upgrade", "--upgrade-package", "gamma",
        "--upgrade-package", "beta", "--index-url=https://i", "--offline",
    ]  # fmt: skip

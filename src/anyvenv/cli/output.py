"""Printing: JSON for ``--json``, aligned text otherwise, progress only on a terminal."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any


def print_json(data: Any) -> None:
    import json  # here: start-up time of the commands that print text

    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: Iterable[tuple[str, str]], indent: str = "  ") -> None:
    materialised = list(rows)
    width = max((len(key) for key, _ in materialised), default=0)
    for key, value in materialised:
        print(f"{indent}{key.ljust(width)}  {value}")


def print_mapping(mapping: Mapping[str, Any], indent: str = "  ") -> None:
    print_table(((key, str(value)) for key, value in mapping.items()), indent)


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of text")


def tell_waiting(message: str) -> None:
    """A lock is held by someone else and this command waits: said once, on stderr (a
    progress bar taken off its line first; it is drawn again when work goes on)."""
    clear_progress()
    print(f"anyvenv: {message}", file=sys.stderr, flush=True)


def tell_notes(notes: Iterable[str]) -> None:
    """What anyvenv must tell beside uv's output: a line each, on stderr."""
    for note in notes:
        print(f"anyvenv: {note}", file=sys.stderr)


def tell_warnings(warnings: Iterable[str]) -> None:
    """Warnings beside uv's output (uv's own words, where anyvenv reads what uv would):
    ``anyvenv: warning: ...``, a line each, on stderr."""
    tell_notes(f"warning: {warning}" for warning in warnings)


_drawn: list[ProgressBar] = []  # the bar on the terminal's last line, if one is
_asking: list[bool] = []  # a question is on the terminal's last line, waiting for an answer


def draws_progress() -> bool:
    """Whether progress is drawn: on a terminal that can rewrite its line (not ``TERM=dumb``,
    where uv draws none either)."""
    import os

    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def progress_wanted(no_progress: bool) -> bool:
    """Whether a bar is drawn: on a terminal (:func:`draws_progress`), unless uv's
    ``--no-progress`` (``no_progress``) or ``UV_NO_PROGRESS`` says none, as for uv's bars."""
    return draws_progress() and not no_progress and not no_progress_by_variable()


def no_progress_by_variable() -> bool:
    """``UV_NO_PROGRESS`` set to one of uv's true words."""
    import os

    from anyvenv.project.uvrules import env_flag

    return bool(os.environ.get("UV_NO_PROGRESS")) and env_flag(os.environ, "UV_NO_PROGRESS")


def ask(question: str) -> str:
    """Put ``question`` on stderr and read one line of answer ('' at end of input)."""
    sys.stderr.write(question)
    sys.stderr.flush()
    _asking.append(True)
    answer = sys.stdin.readline()
    _asking.clear()  # (not when Ctrl-C ends the read: what is said then needs a new line)
    return answer


def prompt_open() -> bool:
    """Whether a question waits on the terminal's line (what is said next needs a line of
    its own)."""
    return bool(_asking)


def clear_progress() -> None:
    """Take a bar still drawn off the line (before an error or interruption is printed)."""
    while _drawn:
        _drawn[-1].close()


class ProgressBar:
    """One self-rewriting line on stderr, for long work (downloads, big copies); only made
    when stderr is a terminal. Called with (stage, done, total): ``download`` counts bytes,
    ``extract`` and ``mirror`` files, anything else is a step without a count."""

    WIDTH = 30

    def __init__(self, name: str) -> None:
        import os

        self.name = name
        self.last = 0.0
        self.stage = ""
        try:  # a line as wide as the terminal would wrap, and each redraw leave a line behind
            columns = os.get_terminal_size(sys.stderr.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        self.columns = columns - 1 if columns > 0 else 79  # 0: a terminal of unknown size

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        import time

        now = time.monotonic()
        if stage == self.stage and now - self.last < 0.1 and done != total:
            return
        self.stage, self.last = stage, now
        if stage == "download":
            amount = f"{done / 1e6:.1f}" + (f"/{total / 1e6:.1f} MB" if total else " MB")
        elif stage in ("extract", "mirror"):
            amount = f"{done}/{total} files"
        else:
            amount = "running it"
        fraction = done / total if total else 0.0
        filled = int(self.WIDTH * min(fraction, 1.0))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{self.name} {stage:<8} [{bar}] {amount}"[: max(self.columns, 1)]
        sys.stderr.write(f"\r{line}\033[K")
        sys.stderr.flush()
        if self not in _drawn:
            _drawn.append(self)

    def close(self) -> None:
        if self in _drawn:
            _drawn.remove(self)
        if self.stage:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.stage = ""


def files_progress(name: str, stage: str) -> Callable[[int, int], None] | None:
    """A ``(done, total)`` callback drawing a :class:`ProgressBar` for files copied, cleared
    when the last one is done; ``None`` where stderr is no terminal (nothing is drawn)."""
    if not draws_progress():
        return None
    bar = ProgressBar(name)

    def tell(done: int, total: int) -> None:
        bar(stage, done, total)
        if done >= total:
            bar.close()

    return tell

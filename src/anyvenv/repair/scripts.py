"""Console-script shebangs: read which interpreter a script in bin/ runs, and write a new
first line that runs another one, in the two forms installers use:

    #!/path/to/python [args]
    #!/bin/sh
    '''exec' '/path/to/python' "$0" "$@"
    ' '''

(the second for paths too long for the kernel or holding spaces)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from anyvenv.record import record

HEAD_BYTES = 1024
SHEBANG_LIMIT = 127  # the kernel's BINPRM_BUF_SIZE is 128 on older Linux and on macOS
_SH_EXEC = re.compile(rb"^'''exec' (?:'([^']*)'|\"([^\"]*)\"|(\S+))(.*?) \"\$0\" \"\$@\"$")


@record
class Shebang:
    """The interpreter a script starts with, and where in the file that is written."""

    interpreter: str
    args: bytes  # what follows the interpreter on its line (e.g. b" -E")
    sh_exec: bool  # the /bin/sh trampoline form
    header_length: int  # bytes of the file that make up the header (rewritten whole)


def read_shebang(path: Path) -> Shebang | None:
    """The script's interpreter, or ``None`` for files that are not scripts (binaries,
    activation scripts without a shebang, unreadable files)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    return parse_shebang(head)


def parse_shebang(head: bytes) -> Shebang | None:
    if not head.startswith(b"#!"):
        return None
    first, nl, rest = head.partition(b"\n")
    if not nl:
        return None
    line = first[2:].rstrip(b"\r").strip()
    if line in (b"/bin/sh", b"/usr/bin/sh"):
        second, nl2, third = rest.partition(b"\n")
        match = _SH_EXEC.match(second.rstrip(b"\r"))
        closing, nl3, _ = third.partition(b"\n")
        if match and nl2 and nl3 and closing.strip() == b"' '''":
            raw = match.group(1) or match.group(2) or match.group(3) or b""
            length = len(first) + len(second) + len(closing) + 3
            return Shebang(os.fsdecode(raw), match.group(4), True, length)
        return Shebang(os.fsdecode(line), b"", False, len(first) + 1)
    interpreter, _, args = line.partition(b" ")
    if not interpreter:
        return None
    return Shebang(os.fsdecode(interpreter), (b" " + args) if args else b"", False, len(first) + 1)


def render_header(interpreter: str, args: bytes = b"") -> bytes:
    """The header that runs ``interpreter``: the plain form when the kernel can take it."""
    raw = os.fsencode(interpreter)
    plain = b"#!" + raw + args
    if len(plain) <= SHEBANG_LIMIT and not any(char in raw for char in b" \t\n\r'"):
        return plain + b"\n"
    quoted = raw.replace(b"'", b"'\"'\"'")
    return b"#!/bin/sh\n'''exec' '" + quoted + b"'" + args + b' "$0" "$@"\n' + b"' '''\n"


def rewritten(data: bytes, shebang: Shebang, interpreter: str) -> bytes:
    """``data`` (the whole script) with its header running ``interpreter`` instead."""
    return render_header(interpreter, shebang.args) + data[shebang.header_length :]

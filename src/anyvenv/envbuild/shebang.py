"""Console-script shebangs: read which interpreter a script in bin/ runs, and write a new
first line that runs another one, in the two forms installers use:

    #!/path/to/python [args]
    #!/bin/sh
    '''exec' '/path/to/python' "$0" "$@"
    ' '''

(the second for paths too long for the kernel or holding spaces)."""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.record import record

# The longest header: the /bin/sh form for a path of PATH_MAX (4096) bytes, each a quote
# written as five ('"'"'); a script's first line and trampoline are read within it.
HEAD_BYTES = 5 * 4096 + 64
SHEBANG_LIMIT = 127  # the kernel's BINPRM_BUF_SIZE is 128 on older Linux and on macOS


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
        trampoline = _parse_trampoline(rest)
        if trampoline is not None:
            raw, args, length = trampoline
            return Shebang(os.fsdecode(raw), args, True, len(first) + 1 + length)
        return Shebang(os.fsdecode(line), b"", False, len(first) + 1)
    interpreter, _, args = line.partition(b" ")
    if not interpreter:
        return None
    return Shebang(os.fsdecode(interpreter), (b" " + args) if args else b"", False, len(first) + 1)


_CLOSING = b"' " + b"'" * 3


def _parse_trampoline(rest: bytes) -> tuple[bytes, bytes, int] | None:
    """After ``#!/bin/sh``: the exec line (``exec`` in quotes, PATH, ARGS, then ``"$0" "$@"``)
    and the line that closes the quote, the path in any POSIX quoting (pip quotes a single
    quote as ``'"'"'``; a newline may be inside the quotes), as (path, args with a leading
    space each, bytes of the two lines)."""
    end = rest.find(b"\n" + _CLOSING)
    if end < 0 or rest[end + 1 + len(_CLOSING) : end + 2 + len(_CLOSING)] != b"\n":
        return None
    words = _shell_words(rest[:end].rstrip(b"\r"))
    if words is None or len(words) < 4 or words[0] != b"exec" or words[-2:] != [b"$0", b"$@"]:
        return None
    args = b"".join(b" " + word for word in words[2:-2])
    return words[1], args, end + 2 + len(_CLOSING)


def _shell_words(text: bytes) -> list[bytes] | None:
    """The words of one POSIX shell command line with quotes removed (no expansion: ``"$0"``
    stays ``$0``); ``None`` if a quote is not closed."""
    words: list[bytes] = []
    word = bytearray()
    in_word = False
    index = 0
    while index < len(text):
        char = text[index : index + 1]
        if char in (b" ", b"\t"):
            if in_word:
                words.append(bytes(word))
                word, in_word = bytearray(), False
            index += 1
            continue
        in_word = True
        if char == b"'":
            close = text.find(b"'", index + 1)
            if close < 0:
                return None
            word += text[index + 1 : close]
            index = close + 1
        elif char == b'"':
            index += 1
            while index < len(text) and text[index : index + 1] != b'"':
                pair = text[index : index + 2]
                if pair[:1] == b"\\" and pair[1:] in (b'"', b"\\", b"$", b"`"):
                    word += pair[1:]
                    index += 2
                else:
                    word += text[index : index + 1]
                    index += 1
            if index >= len(text):
                return None
            index += 1
        elif char == b"\\":
            word += text[index + 1 : index + 2]
            index += 2
        else:
            word += char
            index += 1
    if in_word:
        words.append(bytes(word))
    return words


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


def retarget_shebang(
    data: bytes, old_root: str | os.PathLike[str], new_root: str | os.PathLike[str]
) -> bytes | None:
    """``data`` (a whole script) with its interpreter moved from under ``old_root`` to the same
    place under ``new_root``; ``None`` if no interpreter of ``old_root`` runs it. Either form,
    any quoting; a plain first line whose path holds a newline (uv writes it so) too."""
    old = os.fsdecode(old_root) + "/"
    new = os.fsdecode(new_root) + "/"
    plain = b"#!" + os.fsencode(old)
    if data.startswith(plain) and b"\n" in os.fsencode(old):  # cut by the path, not the line
        end = data.find(b"\n", len(plain))
        rest, _, args = data[len(plain) : end].partition(b" ")
        return (
            render_header(new + os.fsdecode(rest), b" " + args if args else b"") + data[end + 1 :]
        )
    shebang = parse_shebang(data[:HEAD_BYTES])
    if shebang is None or not shebang.interpreter.startswith(old):
        return None
    return rewritten(data, shebang, new + shebang.interpreter[len(old) :])

"""What the user asked for with ``--python``: a path, a name, a version or a version range."""

from __future__ import annotations

from anyvenv.errors import UsageError
from anyvenv.record import record, replace

Version = tuple[int, ...]

# Regular expressions only for the rarer forms (ranges, names): importing re costs start-up
# time, and paths and plain versions, the common requests, are read without it.
_SPECIFIER = r"^\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+){0,2})(\.\*)?\s*$"
_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")  # in the order _SPECIFIER tries them
_OPERATOR_STARTS = "<>=!~"
_NAME = r"[A-Za-z][\w.+-]*"


def parse_version(text: str) -> Version:
    """``3.12.1`` -> (3, 12, 1); raises ValueError on anything else."""
    parts = text.strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    return tuple(int(p) for p in parts)


@record
class Specifier:
    op: str
    version: Version
    wildcard: bool = False

    def contains(self, version: Version) -> bool:
        width = len(self.version)
        head = version[:width]
        padded = version + (0,) * max(0, width - len(version))
        if self.op == "==":
            return (
                head == self.version
                if self.wildcard or width < 3
                else padded[:width] == self.version
            )
        if self.op == "!=":
            return not Specifier("==", self.version, self.wildcard).contains(version)
        if self.op == ">=":
            return padded >= self.version
        if self.op == "<=":
            return padded[:width] <= self.version
        if self.op == ">":
            return padded[:width] > self.version
        if self.op == "<":
            return padded < self.version
        # ~=: compatible release
        prefix = self.version[:-1] if width > 1 else self.version
        return padded >= self.version and version[: len(prefix)] == prefix


def _split_specifier(part: str) -> tuple[str, str, bool] | None:
    """(operator, version, wildcard) of one specifier, as ``_SPECIFIER`` matches it (no ``re``:
    requires-python is read on every sync); ``None`` if it does not match."""
    text = part.strip()
    operator = next((op for op in _OPERATORS if text.startswith(op)), None)
    if operator is None:
        return None
    version = text[len(operator) :].lstrip()
    wildcard = version.endswith(".*")
    if wildcard:
        version = version[:-2]
    pieces = version.split(".")
    if not 1 <= len(pieces) <= 3 or not all(piece.isdecimal() for piece in pieces):
        return None
    return operator, version, wildcard


def parse_specifiers(text: str) -> tuple[Specifier, ...]:
    """``>=3.10,<3.13`` -> specifiers; raises ValueError for anything we do not understand."""
    specs: list[Specifier] = []
    for part in text.split(","):
        if not part.strip():
            continue
        split = _split_specifier(part)
        if split is None:
            raise ValueError(part)
        operator, version, wildcard = split
        specs.append(Specifier(operator, parse_version(version), wildcard))
    if not specs:
        raise ValueError(text)
    return tuple(specs)


@record
class PythonRequest:
    """One of: ``path`` set, ``name`` set, or a version constraint (``specifiers``)."""

    raw: str
    path: str | None = None
    name: str | None = None
    specifiers: tuple[Specifier, ...] = ()
    free_threaded: bool | None = None
    # os, arch, libc of an install name (cpython-3.12-linux-x86_64-gnu), as far as given
    platform: tuple[str, ...] = ()

    @property
    def is_any(self) -> bool:
        return self.path is None and self.name is None and not self.specifiers

    @property
    def names_a_version(self) -> bool:
        """A version, or an executable name that implies one (``python3.12``): what a managed
        install or a download can satisfy."""
        return self.path is None and (self.name is None or bool(self.specifiers))

    def platform_matches(self, key: str) -> bool:
        """Whether builds for ``key`` (``linux-x86_64-gnu``) are what the request names."""
        return all(
            want in ("any", have) for want, have in zip(self.platform, key.split("-"), strict=False)
        )

    def matches_version(self, version: Version, free_threaded: bool = False) -> bool:
        if self.free_threaded is not None and self.free_threaded != free_threaded:
            return False
        return all(spec.contains(version) for spec in self.specifiers)

    def may_match_minor(self, major: int, minor: int) -> bool:
        """Whether some release ``major.minor.P`` (P below 100) satisfies the version
        constraints."""
        # a constraint's answer over P changes only at the patch it names: trying those, their
        # neighbours and both ends is trying them all (a few calls where 100 were made)
        patches = {0, 99}
        for spec in self.specifiers:
            if len(spec.version) >= 3 and spec.version[:2] == (major, minor):
                named = spec.version[2]
                patches.update(p for p in (named - 1, named, named + 1) if 0 <= p <= 99)
        return any(
            all(spec.contains((major, minor, patch)) for spec in self.specifiers)
            for patch in patches
        )

    def minor_hint(self) -> tuple[int, int] | None:
        """The single X.Y this request pins, if any (to guess ``python3.X`` names)."""
        for spec in self.specifiers:
            if spec.op == "==" and len(spec.version) >= 2:
                return spec.version[0], spec.version[1]
        return None


def parse_request(raw: str | None) -> PythonRequest:
    """Read a ``--python`` value. Raises :class:`UsageError` when it is none of the forms."""
    try:
        return _parse_request(raw)
    except ValueError:  # numbers too long for int() (more than 4300 digits)
        raise UsageError(
            f"cannot read the Python request {raw!r}",
            "use a version (3.12, 3.12.4, >=3.11), a path, or an executable name",
        ) from None


def _parse_request(raw: str | None) -> PythonRequest:
    if raw is None or raw.strip() in ("", "any", "default"):
        return PythonRequest(raw or "")
    text = raw.strip()
    if names_a_path(text):
        return PythonRequest(raw, path=text)
    versioned = _abstract_version(text)
    if versioned is not None:  # python3.12, python312, python@3.12: a version, as uv reads it
        return replace(versioned, raw=raw)
    key = _install_key(text)
    bare, platform = key if key is not None else (_without_implementation(text), ())
    if not bare and key is None:  # cpython, cp: any CPython, as uv reads them
        return PythonRequest(raw)
    free_threaded = None
    if bare[:1].isdigit() or bare[:1] in _OPERATOR_STARTS:  # (my+python is a name)
        bare, free_threaded = _variant(bare, raw)
    plain = _plain_version(bare)
    if plain is not None:
        numbers, threaded = plain
        return PythonRequest(
            raw,
            specifiers=(Specifier("==", numbers),),
            free_threaded=True if threaded else free_threaded,
            platform=platform,
        )
    if key is None and bare[0] in _OPERATOR_STARTS:
        try:
            specifiers = parse_specifiers(bare)
        except ValueError:
            pass
        else:
            return PythonRequest(raw, specifiers=specifiers, free_threaded=free_threaded)
    import re

    if key is None and re.fullmatch(_NAME, text):
        return PythonRequest(raw, name=text)
    other = re.match(r"(pypy|graalpy|pyodide)@", text, re.IGNORECASE)
    if other is not None:  # (uv's form for other implementations: no CPython answers it)
        from anyvenv.errors import UnsupportedPython

        raise UnsupportedPython(
            f"{raw.strip()!r} asks for {other.group(1)}: anyvenv makes environments for CPython 3",
            "ask for a CPython version (3.12)",
        )
    raise UsageError(
        f"cannot read the Python request {raw!r}",
        "use a version (3.12, 3.12.4, >=3.11), a path, or an executable name",
    )


def _abstract_version(text: str) -> PythonRequest | None:
    """The version request that ``python`` followed by a version (``@`` between them or not)
    is, as uv reads ``python3.12``: not a name to look up on PATH. ``None`` for anything
    else (``python``, ``python3-dbg``: names)."""
    if not text.lower().startswith("python"):
        return None
    rest = text[len("python") :]
    rest = rest[1:] if rest.startswith("@") else rest
    if not rest[:1].isdigit():
        return None
    try:
        request = _parse_request(rest)
    except UsageError:
        return None
    return request if request.specifiers and request.name is None else None


def names_a_path(text: str) -> bool:
    """Whether a ``--python`` value (or ``UV_PYTHON``) is a path, as uv tells one: a ``/`` in
    it, or a leading ``.``."""
    return "/" in text or text.startswith(".")


def _without_implementation(text: str) -> str:
    """``cpython3.12``, ``cp-3.12``, ``CPython@3.12`` -> ``3.12``; ``cpython`` -> ``""``."""
    lowered = text.lower()
    for prefix in ("cpython", "cp"):
        if lowered.startswith(prefix):
            rest = text[len(prefix) :]
            return rest[1:] if rest[:1] in ("@", "-") else rest
    return text


def _install_key(text: str) -> tuple[str, tuple[str, ...]] | None:
    """The version and platform parts of a managed install's name, as uv reads it as a
    request: ``cpython-3.12.1-linux-x86_64-gnu`` -> ``("3.12.1", ("linux", "x86_64", "gnu"))``;
    the platform may stop early (``cpython-3.12-linux``). ``None``: not that form."""
    if not text.lower().startswith("cpython-"):
        return None
    version, *platform = text.lower()[len("cpython-") :].split("-")
    if not 1 <= len(platform) <= 3 or not all(
        part.isascii() and part.replace("_", "").isalnum() for part in platform
    ):
        return None  # (cpython-3.12 is an implementation and a version)
    return version, tuple(platform)


_VARIANTS = {"+freethreaded": True, "+gil": False}


def _variant(version: str, raw: str) -> tuple[str, bool | None]:
    """``3.13+freethreaded`` -> ``("3.13", True)``, ``3.13+gil`` -> ``("3.13", False)``."""
    head, plus, variant = version.partition("+")
    if not plus:
        return version, None
    threaded = _VARIANTS.get(plus + variant.lower())
    if threaded is None:
        raise UsageError(
            f"the Python request {raw!r} asks for a +{variant} build, which anyvenv does not "
            "make environments or installs of",
            "ask for a default build (3.13) or a free-threaded one (3.13t, 3.13+freethreaded)",
        )
    return head, threaded


def _plain_version(text: str) -> tuple[Version, bool] | None:
    """``3``, ``3.12``, ``3.12.1``, each optionally with ``t`` (free-threaded); ``312`` is
    3.12, as in uv (and wheel tags)."""
    threaded = text.endswith("t")
    digits = text[:-1] if threaded else text
    if len(digits) > 1 and digits.isascii() and digits.isdigit() and digits[0] == "3":
        return (3, int(digits[1:])), threaded
    parts = digits.split(".")
    if not 1 <= len(parts) <= 3 or not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts), threaded

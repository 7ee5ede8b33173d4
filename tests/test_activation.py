"""The activation scripts, sourced for real in every shell that is installed.

Each run renders the scripts into ``<env>/bin`` for an environment whose path (or prompt) is
hostile, then a small driver in the shell's own language sources the script (twice, or a second
environment's), records the exported environment with ``env -0``, runs a command from
``<env>/bin`` by name, calls ``deactivate`` and records again. POSIX shells and tcsh run
interactively (``-i``, commands on stdin) so that the prompt they really display can be checked;
fish and Nushell have their prompt function called, xonsh its prompt formatter (xonsh is a test
dependency: the one beside the running Python is used).

A shell that is not installed is skipped, saying so. PowerShell is checked for real only when
``pwsh`` is installed; otherwise only the literal written into activate.ps1 is checked.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from anyvenv.envbuild.activation import render_activation_scripts

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
ORIG_PYTHONHOME = "/orig/python home"
ORIG_PROMPT = b"ORIG> "
PROBE = "anyvenv-probe"
PROBE_OUTPUT = b"probe-ok\n"

# Path components (the env dir is <tmp>/paths/<component>/env). '/' may appear: it nests.
HOSTILE_PATHS: dict[str, str] = {
    "space": "with space",
    "quotes": 'it\'s "quoted"',
    "dollar": "$HOME ${PATH} $(touch PWNED)",
    "backtick": "`touch PWNED`",
    "backslash": "back\\slash\\",
    "newline": "new\nline",
    "long": "/".join(["L" * 200] * 5),  # 1000+ characters, 200-character names
    "non-utf8": os.fsdecode(b"bad\xff\xfe\x80byte"),
    # Everything at once, with what csh, tcsh, zsh and ksh prompts treat specially (!, %, ^,
    # a backslash before a newline) and the renderer's own placeholder marks.
    "everything": (
        "a b'c\"d$e`f\\g\nh!i%j*k?l[m]n{o,p}q~r#s;t&u|v<w>x(y)z\t\r\x1b\u00e9\u2019"
        + os.fsdecode(b"\xff")
        + " !! !$ ^x^y %~ %% \\! \\w @@PROMPT@@ @@ENV_DIR@@ \\\n\\'"
    ),
}

PWNED_NAME = "PWNED-prompt"
HOSTILE_PROMPTS: dict[str, str] = {
    "code": "$(touch {pwned}) `touch {pwned}` ${HOME} $HOME @@ENV_DIR@@",
    "prompt-escapes": "%~ %% %n \\w \\u \\\\ \\$ !x !! \\!",
    "quotes": 'it\'s "quoted" \u2019',
    "newline-and-non-utf8": "two\nlines " + os.fsdecode(b"\xff\xfe"),
}


def fs(text: str) -> bytes:
    return os.fsencode(text)


# --------------------------------------------------------------------------------------------
# Shells and their drivers. The driver reads ACT, ACT2 and OUT from the environment.

POSIX_DRIVER = """{setup}
PS1='ORIG> '
. "$ACT"
. "$ACT2"
env -0 > "$OUT/on.env"
printf '%s' "$PS1" > "$OUT/on.prompt"
{probe} > "$OUT/probe"
deactivate
env -0 > "$OUT/off.env"
printf '%s' "$PS1" > "$OUT/off.prompt"
if command -v deactivate > /dev/null 2>&1; then echo kept > "$OUT/deactivate"; fi
""".replace("{probe}", PROBE)

# Blank lines cut it into the reads tcsh is fed one at a time (see feed_in_reads).
CSH_DRIVER = """set prompt = 'ORIG> '
source $ACT:q
source $ACT2:q

env -0 > "$OUT/on.env"
printf '%s' $prompt:q > "$OUT/on.prompt"
{probe} > "$OUT/probe"
deactivate

env -0 > "$OUT/off.env"
printf '%s' $prompt:q > "$OUT/off.prompt"
alias deactivate > "$OUT/deactivate"
""".replace("{probe}", PROBE)

FISH_DRIVER = """function fish_prompt
    printf 'ORIG> '
end
source $ACT
source $ACT2
env -0 > "$OUT/on.env"
fish_prompt > "$OUT/on.prompt"
{probe} > "$OUT/probe"
deactivate
env -0 > "$OUT/off.env"
fish_prompt > "$OUT/off.prompt"
if functions -q deactivate
    echo kept > "$OUT/deactivate"
end
""".replace("{probe}", PROBE)

# `overlay use` needs a path known when the driver is parsed: the test copies activate.nu to
# OUT (its own location plays no part: the environment path is written inside it).
NU_DRIVER = """$env.PROMPT_COMMAND = {|| 'ORIG> ' }
overlay use @OUT@/activate.nu
^env -0 | save -f $'($env.OUT)/on.env'
do $env.PROMPT_COMMAND | save -f $'($env.OUT)/on.prompt'
^@PROBE@ | save -f $'($env.OUT)/probe'
deactivate
^env -0 | save -f $'($env.OUT)/off.env'
do $env.PROMPT_COMMAND | save -f $'($env.OUT)/off.prompt'
""".replace("@PROBE@", PROBE)


# xonsh shows the name itself (its {env_name} field, from VIRTUAL_ENV_PROMPT): the driver asks
# its prompt formatter for what a prompt of "{env_name}ORIG> " shows.
# xonsh is Python: it starts without the PYTHONHOME the scripts must hide, and sets it itself.
XONSH_DRIVER = """import os
$PYTHONHOME = $HIDDEN_PYTHONHOME
del $HIDDEN_PYTHONHOME
def _write(name, data):
    with open(os.path.join($OUT, name), 'wb') as f:
        f.write(data)
def _prompt():
    $PROMPT_FIELDS.reset()  # as the shell does before each prompt
    shown = __xonsh__.shell.prompt_formatter('{env_name}ORIG> ')
    return shown.encode('utf-8', 'surrogateescape')
source @($ACT)
source @($ACT2)
env -0 > @(os.path.join($OUT, 'on.env'))
_write('on.prompt', _prompt())
@PROBE@ > @(os.path.join($OUT, 'probe'))
deactivate
env -0 > @(os.path.join($OUT, 'off.env'))
_write('off.prompt', _prompt())
if 'deactivate' in aliases:
    _write('deactivate', b'kept')
""".replace("@PROBE@", PROBE)


@dataclass(frozen=True)
class Shell:
    name: str
    argv: tuple[str, ...]
    dialect: str  # posix | csh | fish | nu | xonsh
    setup: str = ""

    @property
    def exe(self) -> str:
        return self.argv[0]

    @property
    def script(self) -> str:
        return {
            "posix": "activate",
            "csh": "activate.csh",
            "fish": "activate.fish",
            "nu": "activate.nu",
            "xonsh": "activate.xsh",
        }[self.dialect]

    @property
    def interactive(self) -> bool:
        """Prompts are really displayed (the transcript holds them)."""
        return self.dialect in ("posix", "csh")


BASH = Shell("bash", ("bash", "--norc", "--noprofile", "--noediting", "-i"), "posix")
DASH = Shell("dash", ("dash", "-i"), "posix")
ZSH = Shell("zsh", ("zsh", "-f", "-i"), "posix")
KSH = Shell("ksh", ("ksh", "-i"), "posix")
MKSH = Shell("mksh", ("mksh", "-i"), "posix")
TCSH = Shell("tcsh", ("tcsh", "-f", "-i"), "csh")
FISH = Shell("fish", ("fish", "--no-config"), "fish")
NU = Shell("nu", ("nu", "-n"), "nu")
XONSH = Shell("xonsh", (os.path.join(os.path.dirname(sys.executable), "xonsh"), "--no-rc"), "xonsh")

SHELLS = [BASH, DASH, ZSH, KSH, MKSH, TCSH, FISH, NU, XONSH]
# Prompt handling differs with these options; check them too.
PROMPT_SHELLS = [
    *SHELLS,
    Shell(
        "bash-posix-mode",
        ("bash", "--posix", "--norc", "--noprofile", "--noediting", "-i"),
        "posix",
    ),
    Shell("bash-no-promptvars", BASH.argv, "posix", "shopt -u promptvars"),
    Shell("zsh-promptsubst-promptbang", ZSH.argv, "posix", "setopt promptsubst promptbang"),
    Shell("zsh-as-sh", ZSH.argv, "posix", "emulate sh"),
]


def need(shell: Shell) -> None:
    if shutil.which(shell.exe) is None:
        pytest.skip(f"{shell.exe} is not installed (shell {shell.name} not exercised)")


# --------------------------------------------------------------------------------------------
# Building environments and running drivers.


def make_env(env_dir: str, prompt: str) -> dict[str, bytes]:
    scripts = render_activation_scripts(env_dir, prompt)
    bin_dir = os.path.join(env_dir, "bin")
    os.makedirs(bin_dir)
    if xonsh_reads_prompt(prompt):  # as anyvenv venv --prompt writes it (xonsh reads it)
        with open(os.path.join(env_dir, "pyvenv.cfg"), "w", encoding="utf-8") as f:
            f.write(f"prompt = {prompt}\n")
    for name, data in scripts.items():
        with open(os.path.join(bin_dir, name), "wb") as f:
            f.write(data)
    probe = os.path.join(bin_dir, PROBE)
    with open(probe, "wb") as f:
        f.write(b"#!/bin/sh\necho probe-ok\n")
    os.chmod(probe, 0o755)
    return scripts


@dataclass
class Run:
    proc: subprocess.CompletedProcess[bytes]
    out: Path
    transcript: bytes  # what an interactive shell displayed (its prompts)

    def read(self, name: str) -> bytes | None:
        path = self.out / name
        return path.read_bytes() if path.exists() else None

    def env(self, name: str) -> dict[bytes, bytes]:
        data = self.read(name)
        assert data is not None, f"{name} was not written; {self.describe()}"
        pairs = [item.partition(b"=") for item in data.split(b"\0") if item]
        return {key: value for key, _, value in pairs}

    def describe(self) -> str:
        return (
            f"exit {self.proc.returncode}, stdout {self.proc.stdout[-2000:]!r}, "
            f"stderr {self.proc.stderr[-2000:]!r}"
        )


def run_driver(
    shell: Shell, work: Path, env_dir: str, env_dir2: str | None = None, **extra: str
) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    home = work / "home"
    cwd = work / "cwd"
    for d in (out, home, cwd):
        d.mkdir()
    act = os.path.join(env_dir, "bin", shell.script)
    act2 = os.path.join(env_dir2 or env_dir, "bin", shell.script)
    env = {
        "PATH": BASE_PATH,
        "HOME": str(home),
        "OUT": str(out),
        "ACT": act,
        "ACT2": act2,
        "PYTHONHOME": ORIG_PYTHONHOME,
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        **extra,
    }
    stdin = b""
    argv = [shutil.which(shell.exe) or shell.exe, *shell.argv[1:]]
    if shell.dialect == "posix":
        stdin = POSIX_DRIVER.replace("{setup}", shell.setup).encode()
    elif shell.dialect == "csh":
        stdin = CSH_DRIVER.encode()
    elif shell.dialect == "fish":
        driver = work / "driver.fish"
        driver.write_text(FISH_DRIVER)
        argv.append(str(driver))
    elif shell.dialect == "xonsh":
        env["HIDDEN_PYTHONHOME"] = env.pop("PYTHONHOME")
        driver = work / "driver.xsh"
        driver.write_text(XONSH_DRIVER)
        argv.append(str(driver))
    else:
        shutil.copyfile(act, out / "activate.nu")
        driver = work / "driver.nu"
        driver.write_text(NU_DRIVER.replace("@OUT@", str(out)))
        argv.append(str(driver))
    if shell.dialect == "csh":
        proc = feed_in_reads(argv, stdin, env, cwd)
    else:
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, env=env, cwd=cwd, timeout=30, check=False
        )
    assert not os.listdir(cwd), f"something ran code from a path or prompt: {os.listdir(cwd)}"
    transcript = proc.stdout if shell.dialect == "csh" else proc.stderr
    return Run(proc, out, transcript)


def feed_in_reads(
    argv: list[str], script: bytes, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """Run an interactive shell that reads its input in big chunks (tcsh) a chunk at a time.

    tcsh displays a prompt only before it reads; given the whole driver at once it would read
    it in one go. Each chunk (cut at blank lines) ends with an echo of a marker, and the next
    chunk is written only once the marker is back, so each is a read of its own, preceded by a
    prompt.
    """
    deadline = time.monotonic() + 30
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd
        )
        assert proc.stdin is not None and proc.stdout is not None
        out = bytearray()
        try:
            for number, chunk in enumerate(script.split(b"\n\n")):
                marker = b"chunk-%d-done" % number
                proc.stdin.write(chunk + b"\necho " + marker + b"\n")
                proc.stdin.flush()
                while marker + b"\n" not in out:
                    left = deadline - time.monotonic()
                    ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
                    if not ready:
                        raise AssertionError(f"{argv[0]} stopped answering: {bytes(out)!r}")
                    data = os.read(proc.stdout.fileno(), 65536)
                    if not data:
                        raise AssertionError(f"{argv[0]} ended early: {bytes(out)!r}")
                    out += data
            proc.stdin.close()
            out += proc.stdout.read()
            proc.wait(timeout=max(deadline - time.monotonic(), 1))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        return subprocess.CompletedProcess(argv, proc.returncode, bytes(out), err.read())


def check_active_and_restored(
    shell: Shell, run: Run, env_dir: str, prompt: bytes, prompt_shown: bool = True
) -> None:
    why = run.describe()
    on = run.env("on.env")
    assert on.get(b"VIRTUAL_ENV") == fs(env_dir), why
    assert on.get(b"VIRTUAL_ENV_PROMPT") == prompt, why
    assert on.get(b"PATH") == fs(env_dir) + b"/bin:" + BASE_PATH.encode(), why
    if shell.dialect == "nu":
        assert on.get(b"PYTHONHOME", b"") == b"", why  # emptied: Python ignores it
    else:
        assert b"PYTHONHOME" not in on, why
    assert run.read("probe") == PROBE_OUTPUT, why

    off = run.env("off.env")
    assert b"VIRTUAL_ENV" not in off, why
    assert b"VIRTUAL_ENV_PROMPT" not in off, why
    assert off.get(b"PATH") == BASE_PATH.encode(), why
    assert off.get(b"PYTHONHOME") == ORIG_PYTHONHOME.encode(), why
    assert not run.read("deactivate"), f"deactivate survived deactivation; {why}"

    prefix = b"(" + (tcsh_display(prompt) if shell.dialect == "csh" else prompt) + b") "
    if shell.dialect == "xonsh" and not xonsh_reads_prompt(os.fsdecode(prompt)):
        prefix = prompt  # xonsh shows a name it cannot find in pyvenv.cfg as it is
    if shell.interactive:
        if prompt_shown:
            assert prefix + ORIG_PROMPT in run.transcript, why
            last = run.transcript.rfind(ORIG_PROMPT)
            assert run.transcript[last - len(prefix) : last] != prefix, "prompt not restored"
        else:
            assert prefix not in run.transcript, why
        if shell.dialect == "posix" and not shell.setup:
            assert run.read("off.prompt") == ORIG_PROMPT, why
    else:
        assert run.read("on.prompt") == (prefix if prompt_shown else b"") + ORIG_PROMPT, why
        assert run.read("off.prompt") == ORIG_PROMPT, why


def xonsh_reads_prompt(prompt: str) -> bool:
    """Whether the prompt can be a line of pyvenv.cfg, where xonsh's {env_name} looks for the
    name to put in parentheses."""
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(prompt) and "\n" not in prompt and "\r" not in prompt


def tcsh_display(raw: bytes) -> bytes:
    """tcsh shows a byte that is not UTF-8 in its prompt as the Latin-1 character."""
    text = raw.decode("utf-8", "surrogateescape")
    return "".join(chr(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text).encode()


def shown_in(shell: Shell, prompt: str) -> bytes:
    """The bytes of VIRTUAL_ENV_PROMPT as the shell's script holds them."""
    raw = fs(prompt)
    if shell.dialect == "nu":  # Nushell strings are UTF-8: bad bytes show as U+FFFD
        return raw.decode("utf-8", "replace").encode()
    return raw


def refuses(shell: Shell, env_dir: str) -> bool:
    if ":" in env_dir:
        return True
    if shell.dialect == "xonsh":  # it expands variables that are set in PATH entries
        return "$HOME" in env_dir or "${PATH}" in env_dir
    if shell.dialect == "nu":
        try:
            fs(env_dir).decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Real shells.


@dataclass
class Case:
    run: Run
    env_dir: str
    prompt: str


def path_case(shell: Shell, kind: str, work: Path) -> Case:
    env_dir = os.path.join(work, "paths", HOSTILE_PATHS[kind], "env")
    make_env(env_dir, "envprompt")
    return Case(run_driver(shell, work / "run", env_dir), env_dir, "envprompt")


def prompt_case(shell: Shell, kind: str, work: Path) -> Case:
    prompt = HOSTILE_PROMPTS[kind].replace("{pwned}", str(work / PWNED_NAME))
    env_dir = os.path.join(work, "env")
    make_env(env_dir, prompt)
    return Case(run_driver(shell, work / "run", env_dir), env_dir, prompt)


FAMILIES = {
    "paths": (path_case, SHELLS, list(HOSTILE_PATHS)),
    "prompts": (prompt_case, PROMPT_SHELLS, list(HOSTILE_PROMPTS)),
}


class Batch:
    """Runs a whole family of cases concurrently the first time one of them is asked for.

    A case mostly waits for shells to start, so the two big matrices run a few at a time and
    the tests only check the results: the file stays fast on a busy machine too.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._pool = ThreadPoolExecutor(max_workers=6)
        self._futures: dict[tuple[str, str, str], Future[Case]] = {}
        self._started: set[str] = set()

    def get(self, family: str, shell: Shell, kind: str) -> Case:
        if family not in self._started:
            self._started.add(family)
            job, shells, kinds = FAMILIES[family]
            for each_shell in shells:
                if shutil.which(each_shell.exe) is None:
                    continue
                for each_kind in kinds:
                    work = self._root / family / each_shell.name / each_kind
                    future = self._pool.submit(job, each_shell, each_kind, work)
                    self._futures[(family, each_shell.name, each_kind)] = future
        return self._futures[(family, shell.name, kind)].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    runner = Batch(tmp_path_factory.mktemp("activation"))
    yield runner
    runner.close()


@pytest.mark.parametrize("kind", list(HOSTILE_PATHS))
@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_hostile_env_paths(shell: Shell, kind: str, batch: Batch) -> None:
    need(shell)
    case = batch.get("paths", shell, kind)
    run = case.run
    if refuses(shell, case.env_dir):
        assert run.read("on.env") is None or b"VIRTUAL_ENV" not in run.env("on.env")
        why = b"expands in an entry of PATH" if shell.dialect == "xonsh" else b"not valid UTF-8"
        assert why in run.proc.stderr, run.describe()
        if shell.dialect == "xonsh":  # and nothing changed
            assert run.env("on.env").get(b"PATH") == BASE_PATH.encode(), run.describe()
        return
    check_active_and_restored(shell, run, case.env_dir, b"envprompt")


@pytest.mark.parametrize("kind", list(HOSTILE_PROMPTS))
@pytest.mark.parametrize("shell", PROMPT_SHELLS, ids=lambda s: s.name)
def test_hostile_prompts(shell: Shell, kind: str, batch: Batch) -> None:
    need(shell)
    case = batch.get("prompts", shell, kind)
    check_active_and_restored(shell, case.run, case.env_dir, shown_in(shell, case.prompt))
    pwned = Path(case.env_dir).parent / PWNED_NAME
    assert not pwned.exists(), "the prompt was run as code"


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_disable_prompt(shell: Shell, tmp_path: Path) -> None:
    need(shell)
    env_dir = os.path.join(tmp_path, "my env")
    make_env(env_dir, "")  # empty prompt: the directory's name
    run = run_driver(shell, tmp_path / "run", env_dir, VIRTUAL_ENV_DISABLE_PROMPT="1")
    check_active_and_restored(shell, run, env_dir, b"my env", prompt_shown=False)


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_switching_environments(shell: Shell, tmp_path: Path) -> None:
    """Activating a second environment leaves the first; deactivate restores the original."""
    need(shell)
    if shell.dialect == "nu":
        pytest.skip("Nushell switches by overlays; the driver uses one")
    first = os.path.join(tmp_path, "first env")
    second = os.path.join(tmp_path, "second 'env'")
    make_env(first, "first")
    make_env(second, "second")
    run = run_driver(shell, tmp_path / "run", first, second)
    check_active_and_restored(shell, run, second, b"second")


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s.name)
def test_colon_in_path_is_refused_loudly(shell: Shell, tmp_path: Path) -> None:
    need(shell)
    env_dir = os.path.join(tmp_path, "a:b", "env")
    make_env(env_dir, "p")
    run = run_driver(shell, tmp_path / "run", env_dir)
    assert b"cannot activate this environment" in run.proc.stderr, run.describe()
    assert b"':'" in run.proc.stderr, run.describe()
    on = run.read("on.env")
    if on is not None:  # nu stops at the failed `overlay use`
        assert b"VIRTUAL_ENV" not in run.env("on.env")
        assert run.env("on.env")[b"PATH"] == BASE_PATH.encode()


def test_xonsh_activates_a_moved_environment_where_it_is(tmp_path: Path) -> None:
    need(XONSH)
    made = os.path.join(tmp_path, "made", "env")
    make_env(made, "p")
    moved = os.path.join(tmp_path, "moved", "env")
    os.renames(made, moved)
    run = run_driver(XONSH, tmp_path / "run", moved)
    check_active_and_restored(XONSH, run, moved, b"p")


def test_bash_refuses_to_be_run(tmp_path: Path) -> None:
    env_dir = os.path.join(tmp_path, "env")
    make_env(env_dir, "p")
    proc = subprocess.run(
        ["bash", os.path.join(env_dir, "bin", "activate")], capture_output=True, check=False
    )
    assert proc.returncode != 0
    assert b"sourced" in proc.stderr


def test_bash_nondestructive_keeps_deactivate(tmp_path: Path) -> None:
    env_dir = os.path.join(tmp_path, "env")
    make_env(env_dir, "p")
    script = '. "$ACT"; deactivate nondestructive; type -t deactivate; echo "${VIRTUAL_ENV-gone}"'
    proc = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        check=True,
        env={"PATH": BASE_PATH, "ACT": os.path.join(env_dir, "bin", "activate")},
    )
    assert proc.stdout == b"function\ngone\n"


def test_bash_unset_path_gets_no_empty_entry(tmp_path: Path) -> None:
    """An empty PATH must not become "<env>/bin:" (a trailing empty entry means ".")."""
    env_dir = os.path.join(tmp_path, "env")
    make_env(env_dir, "p")
    script = 'unset PATH; . "$ACT"; printf "%s" "$PATH"'
    proc = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        check=True,
        env={"ACT": os.path.join(env_dir, "bin", "activate")},
    )
    assert proc.stdout == fs(env_dir) + b"/bin"


# --------------------------------------------------------------------------------------------
# activate_this.py with the running Python.

ACTIVATE_THIS_CHECK = """
import os, sys
path = sys.argv[1]
if sys.argv[2] == "file":
    exec(open(path).read(), {"__file__": path})
else:
    exec(open(path).read(), {})
import anyvenv_activation_probe
out = [os.environ["VIRTUAL_ENV"], os.environ["PATH"], sys.path[0], sys.prefix,
       anyvenv_activation_probe.__file__, os.environ["VIRTUAL_ENV_PROMPT"]]
sys.stdout.buffer.write(b"\\0".join(os.fsencode(item) for item in out))
"""


def site_packages(env_dir: str) -> str:
    abiflags = "t" if "t" in getattr(sys, "abiflags", "") else ""
    if sys.implementation.name == "pypy":
        lib = f"pypy{sys.version_info[0]}.{sys.version_info[1]}"
    else:
        lib = f"python{sys.version_info[0]}.{sys.version_info[1]}{abiflags}"
    return os.path.join(env_dir, "lib", lib, "site-packages")


def run_activate_this(env_dir: str, how: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            ACTIVATE_THIS_CHECK,
            fs(os.path.join(env_dir, "bin", "activate_this.py")),
            how,
        ],
        capture_output=True,
        env={"PATH": BASE_PATH, "LC_ALL": "C.UTF-8"},
        check=False,
    )


@pytest.mark.parametrize(
    ("kind", "how"), [(kind, "file") for kind in HOSTILE_PATHS] + [("everything", "no-file")]
)
def test_activate_this(kind: str, how: str, tmp_path: Path) -> None:
    env_dir = os.path.join(tmp_path, "paths", HOSTILE_PATHS[kind], "env")
    make_env(env_dir, "p'rompt")
    sp = site_packages(env_dir)
    os.makedirs(sp)
    with open(os.path.join(sp, "anyvenv_activation_probe.py"), "w") as f:
        f.write("")
    proc = run_activate_this(env_dir, how)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    venv, path, first, prefix, module, prompt = proc.stdout.split(b"\0")
    assert venv == fs(env_dir)
    assert path == fs(env_dir) + b"/bin:" + BASE_PATH.encode()
    assert first == fs(sp)
    assert prefix == fs(env_dir)
    assert module == fs(os.path.join(sp, "anyvenv_activation_probe.py"))
    assert prompt == b"p'rompt"


def test_activate_this_from_another_python_takes_the_envs_site_packages(
    tmp_path: Path,
) -> None:
    """Run by a Python of another version than the env's (its one lib/python3.X), the env's
    site-packages still comes first, as uv's activate_this names it; sys.real_prefix keeps the
    base's prefix, as virtualenv's and uv's do."""
    env_dir = os.path.join(tmp_path, "env")
    make_env(env_dir, "p")
    other = os.path.join(env_dir, "lib", "python3.1", "site-packages")  # no Python's version
    os.makedirs(other)
    with open(os.path.join(other, "anyvenv_activation_probe.py"), "w") as f:
        f.write("")
    check = ACTIVATE_THIS_CHECK.replace(
        'os.environ["VIRTUAL_ENV_PROMPT"]]', 'os.environ["VIRTUAL_ENV_PROMPT"], sys.real_prefix]'
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", check, os.path.join(env_dir, "bin", "activate_this.py"),
         "file"],
        capture_output=True, env={"PATH": BASE_PATH, "LC_ALL": "C.UTF-8"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    *_, first, prefix, module, _prompt, real_prefix = proc.stdout.split(b"\0")
    assert first == fs(other) and prefix == fs(env_dir)
    assert module == fs(os.path.join(other, "anyvenv_activation_probe.py"))
    assert real_prefix == fs(sys.prefix)


def test_activate_this_refuses_colon(tmp_path: Path) -> None:
    env_dir = os.path.join(tmp_path, "a:b", "env")
    make_env(env_dir, "p")
    proc = run_activate_this(env_dir, "file")
    assert proc.returncode != 0
    assert b"cannot be an entry of PATH" in proc.stderr


# --------------------------------------------------------------------------------------------
# PowerShell (for real only when pwsh is installed) and literal checks.


CURLY_PROMPT = "it's \u2018quoted\u2019 \u201b"  # PowerShell takes all of these as quotes


def ps_literal_after(text: str, prefix: str) -> str:
    """Decode the PowerShell verbatim string that follows ``prefix`` in ``text``."""
    quotes = "'\u2018\u2019\u201a\u201b"
    i = text.index(prefix) + len(prefix)
    assert text[i] == "'"
    i += 1
    value = []
    while True:
        c = text[i]
        if c in quotes:
            if text[i + 1] in quotes:
                value.append(text[i + 1])
                i += 2
                continue
            return "".join(value)
        value.append(c)
        i += 1


def nu_literal_after(text: str, prefix: str) -> str:
    i = text.index(prefix) + len(prefix)
    assert text[i] == "r"
    hashes = len(text[i + 1 :]) - len(text[i + 1 :].lstrip("#"))
    start = i + 1 + hashes + 1
    end = text.index("'" + "#" * hashes, start)
    return text[start:end]


@pytest.mark.parametrize("kind", list(HOSTILE_PATHS))
def test_ps1_and_nu_literals(kind: str) -> None:
    env_dir = os.path.join("/srv/envs", HOSTILE_PATHS[kind], "env")
    scripts = render_activation_scripts(env_dir, CURLY_PROMPT)
    ps1 = scripts["activate.ps1"].decode("utf-8", "surrogateescape")
    nu = scripts["activate.nu"].decode("utf-8", "surrogateescape")
    try:
        fs(env_dir).decode("utf-8")
    except UnicodeDecodeError:
        assert ps1.startswith("throw ") and "not valid UTF-8" in ps1
        assert "error make" in nu and "not valid UTF-8" in nu
        return
    assert ps_literal_after(ps1, "$env:VIRTUAL_ENV = ") == env_dir
    assert ps_literal_after(ps1, "$env:VIRTUAL_ENV_PROMPT = ") == CURLY_PROMPT
    assert nu_literal_after(nu, "let venv = ") == env_dir
    assert nu_literal_after(nu, "let name = ") == CURLY_PROMPT


PS1_DRIVER = """
function global:prompt { 'ORIG> ' }
. $env:ACT
. $env:ACT
[IO.File]::WriteAllText("$env:OUT/on.txt", ($env:VIRTUAL_ENV + "`0" + $env:PATH + "`0" + [string](Test-Path Env:\\PYTHONHOME)))
deactivate
[IO.File]::WriteAllText("$env:OUT/off.txt", ([string](Test-Path Env:\\VIRTUAL_ENV) + "`0" + $env:PATH + "`0" + $env:PYTHONHOME + "`0" + [string](Test-Path Function:\\deactivate)))
"""


@pytest.mark.parametrize("kind", ["space", "quotes", "newline", "everything"])
def test_pwsh(kind: str, tmp_path: Path) -> None:
    if shutil.which("pwsh") is None:
        pytest.skip("pwsh is not installed (activate.ps1 only checked as text)")
    env_dir = os.path.join(tmp_path, "paths", HOSTILE_PATHS[kind].replace("\udcff", ""), "env")
    make_env(env_dir, "p")
    out = tmp_path / "out"
    out.mkdir()
    driver = tmp_path / "driver.ps1"
    driver.write_text(PS1_DRIVER)
    proc = subprocess.run(
        ["pwsh", "-NoProfile", "-NonInteractive", "-File", str(driver)],
        capture_output=True,
        env={
            "PATH": BASE_PATH,
            "HOME": str(tmp_path),
            "OUT": str(out),
            "ACT": os.path.join(env_dir, "bin", "activate.ps1"),
            "PYTHONHOME": ORIG_PYTHONHOME,
        },
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    venv, path, has_home = (out / "on.txt").read_text().split("\0")
    assert venv == env_dir
    assert path == env_dir + "/bin:" + BASE_PATH
    assert has_home == "False"
    has_venv, path, home, has_deactivate = (out / "off.txt").read_text().split("\0")
    assert (has_venv, path, home, has_deactivate) == ("False", BASE_PATH, ORIG_PYTHONHOME, "False")


# --------------------------------------------------------------------------------------------
# The renderer itself.


def test_render_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scripts = render_activation_scripts("rel/my-env", "")
    assert set(scripts) == {
        "activate",
        "activate.fish",
        "activate.csh",
        "activate.nu",
        "activate.ps1",
        "activate.xsh",
        "activate_this.py",
    }
    assert all(isinstance(v, bytes) for v in scripts.values())
    absolute = os.path.join(str(tmp_path), "rel", "my-env")
    assert b"VIRTUAL_ENV='" + fs(absolute) + b"'" in scripts["activate"]
    assert b"VIRTUAL_ENV_PROMPT='my-env'" in scripts["activate"]  # empty prompt: the dir name


def test_render_rejects_impossible_input() -> None:
    with pytest.raises(ValueError):
        render_activation_scripts("/a\0b", "p")
    with pytest.raises(ValueError):
        render_activation_scripts("/a", "p\0")
    with pytest.raises(ValueError):
        render_activation_scripts("/a\ud800b", "p")  # a lone surrogate that is not a byte


def test_the_names_of_the_scripts_are_those_rendered() -> None:
    """check looks for empty scripts by these names: each is one repair can write again."""
    from anyvenv.envbuild.activation import SCRIPT_NAMES, render_activation_scripts

    assert sorted(SCRIPT_NAMES) == sorted(render_activation_scripts("/x/env", ""))

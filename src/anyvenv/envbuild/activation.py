"""Activation scripts of a POSIX environment: ``bin/activate*`` and ``bin/activate_this.py``.

They behave like those of venv, virtualenv and uv (same variables, ``deactivate`` and
``deactivate nondestructive``, ``VIRTUAL_ENV_DISABLE_PROMPT``), but they are written to survive
any path a filesystem allows and any prompt string:

* The environment path is written into each script once, as a literal in that language's
  strictest quoting (bash/sh single quotes, fish single quotes, csh single quotes with ``\\!`` and
  ``\\``-newline, Nushell raw strings, PowerShell verbatim strings, a Python bytes literal). The
  scripts then only expand *variables*, never re-parse values, so spaces, quotes, ``$``,
  backticks, backslashes, newlines, ``!``, ``%``, non-UTF-8 bytes and long names are all plain
  data.
* The prompt name is data too: the shell prompts that expand code (bash ``promptvars``, zsh
  ``PROMPT_SUBST``, dash and ksh PS1 expansion) refer to ``$VIRTUAL_ENV_PROMPT`` instead of
  containing its text, and the prompt languages that do not (zsh ``%`` escapes, tcsh, ksh93
  ``!``) get an escaped copy.
* Where a path cannot be represented correctly, the script refuses loudly (a message on stderr,
  nothing changed) instead of half-working:

  - a path containing ``:`` cannot be one entry of ``PATH`` (all scripts refuse; activate_this.py
    raises);
  - a path that is not valid UTF-8 cannot be a Nushell or PowerShell string (activate.nu and
    activate.ps1 refuse). A prompt that is not valid UTF-8 is shown there with U+FFFD instead.

  Nushell cannot restore a variable hidden inside an overlay, so activate.nu sets PYTHONHOME to
  the empty string (which Python ignores) instead of unsetting it.

Rendering is cheap: the templates are module constants cut at their placeholders once, at
import, and filled in one pass (so a path containing a placeholder's name stays a path).
"""

from __future__ import annotations

import os

__all__ = ["render_activation_scripts"]

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"  # (with _as_written: the bytes os.fsencode() gives, any locale)

# Placeholders in the templates are written @@NAME@@; no template holds "@@" otherwise.
_MARK = "@@"


def _split(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cut a template once, at import: (literal pieces, placeholder names between them)."""
    parts = template.split(_MARK)
    if len(parts) % 2 == 0:
        raise AssertionError("unbalanced placeholder mark in a template")
    return tuple(parts[0::2]), tuple(parts[1::2])


def _fill(split: tuple[tuple[str, ...], tuple[str, ...]], values: dict[str, str]) -> str:
    """One pass: a value is never searched for placeholders (a path may contain "@@PROMPT@@")."""
    pieces, names = split
    out = [pieces[0]]
    for name, piece in zip(names, pieces[1:], strict=True):
        out.append(values[name])
        out.append(piece)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Quoting, one function per language. Each returns a complete literal.


def _sh_literal(text: str) -> str:
    """POSIX shells: inside single quotes nothing is special except the closing quote."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_literal(text: str) -> str:
    """fish: inside single quotes only backslash and the single quote are escapes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _csh_literal(text: str) -> str:
    """csh/tcsh single quotes, which still see history substitution (``!``) and end at newlines.

    ``!`` becomes ``\\!`` (the history pass removes the backslash). A newline is written as
    ``''\\`` + newline (a quoted newline), closing and reopening the quote first so that a
    backslash of the text never touches that backslash-newline pair. Values kept this way must be
    expanded unquoted with ``:q`` (``$VAR:q``): inside double quotes tcsh drops a backslash that
    precedes a newline.
    """
    return "'" + text.replace("'", "'\\''").replace("!", "\\!").replace("\n", "''\\\n") + "'"


def _csh_prompt_text(text: str) -> str:
    """Text shown literally by tcsh's prompt, which interprets ``\\``, ``%`` and ``!``."""
    return text.replace("\\", "\\\\").replace("%", "%%").replace("!", "\\!")


def _nu_literal(text: str) -> str:
    """Nushell raw string ``r#'...'#`` with enough ``#`` that the text cannot close it."""
    hashes = "#"
    while "'" + hashes in text:
        hashes += "#"
    return f"r{hashes}'{text}'{hashes}"


# PowerShell takes any of these as a single quote; doubling one inside '...' yields one.
_PS_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def _ps_literal(text: str) -> str:
    for quote in _PS_QUOTES:
        text = text.replace(quote, quote + quote)
    return "'" + text + "'"


# --------------------------------------------------------------------------------------------
# Templates. Placeholders are replaced by complete, already quoted literals.

_ACTIVATE_SH = r"""# Activate this Python environment (made by anyvenv) in bash, zsh, ksh, mksh, dash or sh.
# Source it, do not run it:     . bin/activate
# Undo with:                    deactivate

if [ "${BASH_SOURCE-}" = "$0" ]; then
    echo "activate: this file has to be sourced: . $0" >&2
    exit 33
fi

deactivate () {
    if [ -n "${_OLD_VIRTUAL_PATH+set}" ]; then
        PATH=$_OLD_VIRTUAL_PATH
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    if [ -n "${_OLD_VIRTUAL_PYTHONHOME+set}" ]; then
        PYTHONHOME=$_OLD_VIRTUAL_PYTHONHOME
        export PYTHONHOME
        unset _OLD_VIRTUAL_PYTHONHOME
    fi
    if [ -n "${_OLD_VIRTUAL_PS1+set}" ]; then
        PS1=$_OLD_VIRTUAL_PS1
        unset _OLD_VIRTUAL_PS1 _ANYVENV_PS1_NAME
    fi
    unset VIRTUAL_ENV VIRTUAL_ENV_PROMPT
    hash -r 2>/dev/null || :
    if [ "${1-}" != nondestructive ]; then
        unset -f deactivate
    fi
}

# Leave whichever environment is active, keeping this function.
deactivate nondestructive

VIRTUAL_ENV=@@ENV_DIR@@
export VIRTUAL_ENV
VIRTUAL_ENV_PROMPT=@@PROMPT@@
export VIRTUAL_ENV_PROMPT

_OLD_VIRTUAL_PATH=${PATH-}
PATH=$VIRTUAL_ENV/bin${PATH:+:$PATH}
export PATH

if [ -n "${PYTHONHOME+set}" ]; then
    _OLD_VIRTUAL_PYTHONHOME=$PYTHONHOME
    unset PYTHONHOME
fi

# The prompt gets "(name) " in front. The name is data, never code: where the shell expands
# PS1 (bash promptvars, dash, ksh, zsh PROMPT_SUBST), PS1 names the variable rather than
# holding its text; elsewhere the text is escaped for the prompt language.
if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT-}" ]; then
    _OLD_VIRTUAL_PS1=${PS1-}
    if [ -n "${ZSH_VERSION-}" ]; then
        eval '_ANYVENV_PS1_NAME=${VIRTUAL_ENV_PROMPT//\%/%%}
            if [[ -o promptbang ]]; then _ANYVENV_PS1_NAME=${_ANYVENV_PS1_NAME//!/!!}; fi
            if [[ -o promptsubst ]]; then
                PS1="(\${_ANYVENV_PS1_NAME}) ${PS1-}"
            else
                PS1="(${_ANYVENV_PS1_NAME}) ${PS1-}"
                unset _ANYVENV_PS1_NAME
            fi'
    elif [ -n "${BASH_VERSION-}" ] && ! shopt -q promptvars; then
        eval 'PS1="(${VIRTUAL_ENV_PROMPT//\\/\\\\}) ${PS1-}"'
    else
        case ${KSH_VERSION-} in
            *MIRBSD*|*PD\ KSH*|'') PS1='(${VIRTUAL_ENV_PROMPT}) '"${PS1-}" ;;
            *) PS1='(${VIRTUAL_ENV_PROMPT//!/!!}) '"${PS1-}" ;;  # ksh93 turns ! into a number
        esac
    fi
fi

hash -r 2>/dev/null || :
"""

_ACTIVATE_FISH = r"""# Activate this Python environment (made by anyvenv) in fish.
# Use:        source bin/activate.fish
# Undo with:  deactivate

function deactivate -d 'Leave the Python environment'
    if set -q _OLD_VIRTUAL_PATH
        set -gx PATH $_OLD_VIRTUAL_PATH
        set -e _OLD_VIRTUAL_PATH
    end
    if set -q _OLD_VIRTUAL_PYTHONHOME
        set -gx PYTHONHOME "$_OLD_VIRTUAL_PYTHONHOME"
        set -e _OLD_VIRTUAL_PYTHONHOME
    end
    if functions -q _old_fish_prompt
        functions -e fish_prompt
        functions -c _old_fish_prompt fish_prompt
        functions -e _old_fish_prompt
    end
    functions -e _anyvenv_set_status
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

# Leave whichever environment is active, keeping this function.
deactivate nondestructive

set -gx VIRTUAL_ENV @@ENV_DIR@@
set -gx VIRTUAL_ENV_PROMPT @@PROMPT@@

set -g _OLD_VIRTUAL_PATH $PATH
set -gx PATH "$VIRTUAL_ENV/bin" $PATH

if set -q PYTHONHOME
    set -g _OLD_VIRTUAL_PYTHONHOME "$PYTHONHOME"
    set -e PYTHONHOME
end

if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
    if functions -q fish_prompt
        functions -c fish_prompt _old_fish_prompt
    else
        function _old_fish_prompt
        end
    end
    function _anyvenv_set_status
        return $argv[1]
    end
    function fish_prompt
        set -l last_status $status
        printf '(%s) ' "$VIRTUAL_ENV_PROMPT"
        _anyvenv_set_status $last_status
        _old_fish_prompt
    end
end
"""

# csh runs `if (...) cmd` with every variable of the line expanded first, so the alias chains
# external `test` calls with && (each command is expanded only when it runs).
_ACTIVATE_CSH = r"""# Activate this Python environment (made by anyvenv) in csh or tcsh.
# Use:        source bin/activate.csh
# Undo with:  deactivate

alias deactivate 'test $?_OLD_VIRTUAL_PATH != 0 && setenv PATH $_OLD_VIRTUAL_PATH:q && unset _OLD_VIRTUAL_PATH; test $?_OLD_VIRTUAL_PYTHONHOME != 0 && setenv PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME:q && unset _OLD_VIRTUAL_PYTHONHOME; test $?_OLD_VIRTUAL_PROMPT != 0 && set prompt = $_OLD_VIRTUAL_PROMPT:q && unset _OLD_VIRTUAL_PROMPT; unsetenv VIRTUAL_ENV; unsetenv VIRTUAL_ENV_PROMPT; rehash; test "\!:*" != nondestructive && unalias deactivate'

# Leave whichever environment is active, keeping the alias.
deactivate nondestructive

setenv VIRTUAL_ENV @@ENV_DIR@@
setenv VIRTUAL_ENV_PROMPT @@PROMPT@@

set _OLD_VIRTUAL_PATH = $PATH:q
setenv PATH ${VIRTUAL_ENV:q}/bin:${PATH:q}

if ($?PYTHONHOME) then
    set _OLD_VIRTUAL_PYTHONHOME = $PYTHONHOME:q
    unsetenv PYTHONHOME
endif

set _anyvenv_prompt = 1
if ($?VIRTUAL_ENV_DISABLE_PROMPT) then
    if ($VIRTUAL_ENV_DISABLE_PROMPT:q != "") set _anyvenv_prompt = 0
endif
if ($?prompt) then
    if ($_anyvenv_prompt) then
        set _OLD_VIRTUAL_PROMPT = $prompt:q
        set prompt = @@PROMPT_SHOWN@@$prompt:q
    endif
endif
unset _anyvenv_prompt

rehash
"""

_ACTIVATE_NU = r"""# Activate this Python environment (made by anyvenv) in Nushell.
# Use:        overlay use bin/activate.nu
# Undo with:  deactivate        (the same as: overlay hide activate)

export-env {
    let venv = @@ENV_DIR@@
    let name = @@PROMPT@@
    let bin = ($venv | path join 'bin')
    let current = ($env.PATH? | default [])
    let entries = (if ($current | describe) == 'string' { $current | split row (char esep) } else { $current })
    $env.PATH = ($entries | prepend $bin)
    $env.VIRTUAL_ENV = $venv
    $env.VIRTUAL_ENV_PROMPT = $name
    # Python ignores an empty PYTHONHOME. Emptying it inside the overlay (rather than hiding
    # it, which Nushell would not undo) lets `overlay hide` bring the old value back.
    if 'PYTHONHOME' in $env {
        $env.PYTHONHOME = ''
    }

    let disabled = ($env.VIRTUAL_ENV_DISABLE_PROMPT? | default '' | into string)
    if ($disabled | is-empty) {
        let prefix = ('(' + $name + ') ')
        let previous = ($env.PROMPT_COMMAND? | default '')
        if ($previous | describe | str starts-with 'closure') {
            $env.PROMPT_COMMAND = {|| $prefix + (do $previous | into string) }
        } else {
            $env.PROMPT_COMMAND = {|| $prefix + ($previous | into string) }
        }
    }
}

export alias deactivate = overlay hide activate
"""

_ACTIVATE_PS1 = r"""# Activate this Python environment (made by anyvenv) in PowerShell.
# Dot-source it:  . bin/activate.ps1
# Undo with:      deactivate

function global:deactivate([switch] $NonDestructive) {
    if (Test-Path Function:\_OLD_VIRTUAL_PROMPT) {
        $function:prompt = $function:_OLD_VIRTUAL_PROMPT
        Remove-Item Function:\_OLD_VIRTUAL_PROMPT
    }
    if (Test-Path Env:\_OLD_VIRTUAL_PYTHONHOME) {
        $env:PYTHONHOME = $env:_OLD_VIRTUAL_PYTHONHOME
        Remove-Item Env:\_OLD_VIRTUAL_PYTHONHOME
    }
    if (Test-Path Env:\_OLD_VIRTUAL_PATH) {
        $env:PATH = $env:_OLD_VIRTUAL_PATH
        Remove-Item Env:\_OLD_VIRTUAL_PATH
    }
    Remove-Item Env:\VIRTUAL_ENV, Env:\VIRTUAL_ENV_PROMPT -ErrorAction SilentlyContinue
    if (-not $NonDestructive) {
        Remove-Item Function:\deactivate
    }
}

# Leave whichever environment is active, keeping this function.
deactivate -NonDestructive

$env:VIRTUAL_ENV = @@ENV_DIR@@
$env:VIRTUAL_ENV_PROMPT = @@PROMPT@@

$env:_OLD_VIRTUAL_PATH = $env:PATH
if ($env:PATH) {
    $env:PATH = $env:VIRTUAL_ENV + '/bin' + [IO.Path]::PathSeparator + $env:PATH
} else {
    $env:PATH = $env:VIRTUAL_ENV + '/bin'
}

if (Test-Path Env:\PYTHONHOME) {
    $env:_OLD_VIRTUAL_PYTHONHOME = $env:PYTHONHOME
    Remove-Item Env:\PYTHONHOME
}

if (-not $env:VIRTUAL_ENV_DISABLE_PROMPT) {
    # Create the function globally first, then give it the current prompt's body.
    function global:_OLD_VIRTUAL_PROMPT { '' }
    $function:_OLD_VIRTUAL_PROMPT = $function:prompt
    function global:prompt {
        # The name is printed as data; it is never parsed as PowerShell.
        Write-Host -NoNewline ('(' + $env:VIRTUAL_ENV_PROMPT + ') ')
        _OLD_VIRTUAL_PROMPT
    }
}
"""

_ACTIVATE_XSH = r"""# Activate this Python environment (made by anyvenv) in xonsh.
# Use:        source bin/activate.xsh
# Undo with:  deactivate        (deactivate nondestructive keeps the command itself)
# xonsh's own {env_name} prompt field shows $VIRTUAL_ENV_PROMPT, unless
# $VIRTUAL_ENV_DISABLE_PROMPT is set.


def _anyvenv_activate(bin_dir, name):
    import os
    import sys

    env = __xonsh__.env
    aliases = __xonsh__.aliases
    if os.pathsep in bin_dir:
        print(
            "anyvenv: cannot activate this environment: "
            "its path contains ':', which cannot be one entry of PATH",
            file=sys.stderr,
        )
        return
    if "deactivate" in aliases:  # another environment's, or this one's from before
        aliases["deactivate"](["nondestructive"])
    old_path = list(env["PATH"])
    old_home = env["PYTHONHOME"] if "PYTHONHOME" in env else None

    def deactivate(args=None):
        env["PATH"] = old_path
        if old_home is not None:
            env["PYTHONHOME"] = old_home
        for variable in ("VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT"):
            if variable in env:
                del env[variable]
        if "nondestructive" not in (args or ()) and "deactivate" in aliases:
            del aliases["deactivate"]

    env["PATH"] = [bin_dir, *old_path]
    if env["PATH"][0] != bin_dir:  # read back: xonsh expands $NAME (and ~) in PATH entries
        env["PATH"] = old_path
        print(
            "anyvenv: cannot activate this environment: its path contains '$' or '~', "
            "which xonsh expands in an entry of PATH",
            file=sys.stderr,
        )
        return
    if old_home is not None:
        del env["PYTHONHOME"]
    env["VIRTUAL_ENV"] = os.path.dirname(bin_dir)
    env["VIRTUAL_ENV_PROMPT"] = name
    aliases["deactivate"] = deactivate


# bin/ is where this file is (`source` sets __file__), so a moved environment still works;
# without __file__, it is where the environment was made
_anyvenv_activate(
    __import__("os").path.dirname(__import__("os").path.abspath(__file__))
    if "__file__" in globals()
    else __import__("os").fsdecode(@@BIN_DIR@@),
    @@PROMPT@@,
)
del _anyvenv_activate
"""

_ACTIVATE_THIS = r'''"""Activate this Python environment (made by anyvenv) inside a running interpreter.

Use:  exec(open(this_file).read(), {"__file__": this_file})

It puts the environment's bin/ first on PATH, sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts the
environment's site-packages (for the running Python's version, else the environment's own)
first on sys.path and makes sys.prefix point at the environment (sys.real_prefix keeps the
old one, as virtualenv's and uv's do).
"""

import os
import site
import sys

try:
    _bin = os.path.dirname(os.path.abspath(os.fsdecode(__file__)))
except NameError:  # exec'd without __file__: use the place the environment was made at
    _bin = os.path.join(os.fsdecode(@@ENV_DIR@@), "bin")
_venv = os.path.dirname(_bin)
if os.pathsep in _bin:
    raise RuntimeError(
        "cannot activate %r: its path contains %r, which cannot be an entry of PATH"
        % (_venv, os.pathsep)
    )

_path = os.environ.get("PATH")
os.environ["PATH"] = _bin + os.pathsep + _path if _path else _bin
os.environ["VIRTUAL_ENV"] = _venv
os.environ["VIRTUAL_ENV_PROMPT"] = @@PROMPT@@

if sys.implementation.name == "pypy":
    _lib = "pypy%d.%d" % sys.version_info[:2]
else:
    _lib = "python%d.%d%s" % (
        sys.version_info[0],
        sys.version_info[1],
        "t" if "t" in getattr(sys, "abiflags", "") else "",
    )
_site = os.path.join(_venv, "lib", _lib, "site-packages")
if not os.path.isdir(_site):  # run by another Python than the env's: the env's own
    _libs = os.path.join(_venv, "lib")
    _own = [
        os.path.join(_libs, _name, "site-packages")
        for _name in (sorted(os.listdir(_libs)) if os.path.isdir(_libs) else [])
        if os.path.isdir(os.path.join(_libs, _name, "site-packages"))
    ]
    if len(_own) == 1:
        _site = _own[0]
_before = list(sys.path)
site.addsitedir(_site)
sys.path[:] = [p for p in sys.path if p not in _before] + _before

sys.real_prefix = sys.prefix
sys.prefix = sys.exec_prefix = _venv

del _bin, _venv, _path, _lib, _site, _before
'''


_SH = _split(_ACTIVATE_SH)
_FISH = _split(_ACTIVATE_FISH)
_CSH = _split(_ACTIVATE_CSH)
_NU = _split(_ACTIVATE_NU)
_PS1 = _split(_ACTIVATE_PS1)
_THIS = _split(_ACTIVATE_THIS)
_XSH = _split(_ACTIVATE_XSH)


def _refusal(kind: str, reason: str) -> str:
    """A script that changes nothing and says why on stderr (its status is non-zero)."""
    message = f"anyvenv: cannot activate this environment: {reason}"
    if kind == "sh":
        return f"echo {_sh_literal(message)} >&2\nreturn 1 2>/dev/null || exit 1\n"
    if kind == "fish":
        return f"echo {_fish_literal(message)} >&2\nexit 1\n"
    if kind == "csh":
        # `exit` would end the user's shell; report and leave $status at 1.
        return f"echo {_csh_literal(message)} >> /dev/stderr\nfalse\n"
    if kind == "nu":
        return f"export-env {{\n    error make {{msg: {_nu_literal(message)}}}\n}}\n"
    if kind == "ps1":
        return f"throw {_ps_literal(message)}\n"
    raise AssertionError(kind)


_NOT_IN_PATH = "its path contains ':', which cannot be one entry of PATH"
_NOT_UTF8 = "its path is not valid UTF-8, which this shell cannot represent"


def render_activation_scripts(env_dir: str, prompt: str) -> dict[str, bytes]:
    """File name in bin/ -> contents, for: activate (bash/zsh/sh-compatible: ksh, dash where possible),
    activate.fish, activate.csh, activate.nu, activate.ps1, activate.xsh, activate_this.py.

    ``env_dir`` is made absolute (it may hold surrogate-escaped bytes, as ``os.fsdecode`` gives);
    an empty ``prompt`` means the environment directory's name. The contents are encoded as
    UTF-8 with surrogateescape, so the path's bytes come out exactly as on disk. Raises
    ValueError for a path or prompt that no file system or environment variable could hold (NUL,
    or a lone surrogate that is not an escaped byte).
    """
    if "\0" in env_dir or "\0" in prompt:
        raise ValueError("the environment path and the prompt cannot contain NUL")
    python_name = prompt or os.path.basename(os.path.abspath(env_dir))
    try:
        venv = _as_written(os.path.abspath(env_dir))
        name = _as_written(python_name) if prompt else os.path.basename(venv)
        raw_dir = venv.encode(_ENCODING, _ERRORS)
        raw_name = name.encode(_ENCODING, _ERRORS)
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot encode {exc.object!r} as file system bytes") from exc

    scripts: dict[str, str] = {}
    if ":" in venv:
        for file_name, kind in _SHELL_FILES:
            scripts[file_name] = _refusal(kind, _NOT_IN_PATH)
    else:
        scripts["activate"] = _fill(
            _SH, {"ENV_DIR": _sh_literal(venv), "PROMPT": _sh_literal(name)}
        )
        scripts["activate.fish"] = _fill(
            _FISH, {"ENV_DIR": _fish_literal(venv), "PROMPT": _fish_literal(name)}
        )
        scripts["activate.csh"] = _fill(
            _CSH,
            {
                "ENV_DIR": _csh_literal(venv),
                "PROMPT": _csh_literal(name),
                "PROMPT_SHOWN": _csh_literal(_csh_prompt_text(f"({name}) ")),
            },
        )
        try:
            utf8_dir = raw_dir.decode(_ENCODING)
        except UnicodeDecodeError:
            scripts["activate.nu"] = _refusal("nu", _NOT_UTF8)
            scripts["activate.ps1"] = _refusal("ps1", _NOT_UTF8)
        else:
            shown = raw_name.decode(_ENCODING, "replace")
            scripts["activate.nu"] = _fill(
                _NU, {"ENV_DIR": _nu_literal(utf8_dir), "PROMPT": _nu_literal(shown)}
            )
            scripts["activate.ps1"] = _fill(
                _PS1, {"ENV_DIR": _ps_literal(utf8_dir), "PROMPT": _ps_literal(shown)}
            )
    scripts["activate_this.py"] = _fill(
        _THIS, {"ENV_DIR": repr(raw_dir), "PROMPT": ascii(python_name)}
    )
    # it refuses a path with ':' itself: the path is found where the file is, when sourced
    scripts["activate.xsh"] = _fill(
        _XSH, {"BIN_DIR": repr(raw_dir + b"/bin"), "PROMPT": ascii(python_name)}
    )
    return {file_name: text.encode(_ENCODING, _ERRORS) for file_name, text in scripts.items()}


def _as_written(text: str) -> str:
    """``text`` (a path, or a prompt typed in this locale) as the str whose UTF-8 encoding
    with surrogateescape is its bytes in this locale's encoding (``os.fsencode``): a shell
    reads the scripts as bytes, which must be the path's on disk, whatever the locale (under
    Latin-1, encoding the str as UTF-8 would name another directory). The same str on a
    UTF-8 system. A character this locale cannot encode (a prompt passed by an API caller)
    is kept as UTF-8."""
    try:
        return os.fsencode(text).decode(_ENCODING, _ERRORS)
    except UnicodeEncodeError:
        if any("\udc80" <= char <= "\udcff" for char in text):
            raise  # (an escaped byte this locale cannot give back: no such file name here)
        return text


_SHELL_FILES = (
    ("activate", "sh"),
    ("activate.fish", "fish"),
    ("activate.csh", "csh"),
    ("activate.nu", "nu"),
    ("activate.ps1", "ps1"),
)
SCRIPT_NAMES = (*(name for name, _ in _SHELL_FILES), "activate_this.py", "activate.xsh")
"""The names in bin/ of the scripts :func:`render_activation_scripts` writes."""

"""Signals held off while a step must finish whole (anyvenv.signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from reliability_support import killed, leftovers

from anyvenv.signals import held_signals
from lab import Lab


def test_a_ctrl_c_in_the_block_is_raised_when_it_ends() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt), held_signals():
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_handler_that_was_there_gets_the_first_signal_once() -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        with held_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
            assert got == []
        assert got == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_nested_blocks_deliver_when_the_outer_one_ends() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt), held_signals():
        with held_signals():
            os.kill(os.getpid(), signal.SIGINT)
        steps.append("the outer block went on")
    assert steps == ["the outer block went on"]


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with held_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_outside_the_main_thread_nothing_is_held() -> None:
    seen: list[object] = []

    def run() -> None:
        with held_signals():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_a_default_action_is_taken_when_the_block_ends() -> None:
    code = (
        "import os, signal, sys\n"
        "from anyvenv.signals import held_signals\n"
        "with held_signals():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('finished the step', flush=True)\n"
        "print('not reached', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGTERM
    assert proc.stdout == "finished the step\n"


@pytest.mark.parametrize("signal_name", ["INT", "TERM"])
def test_a_lock_let_go_of_when_stopped_leaves_none_of_its_files(
    signal_name: str, tmp_path: Path
) -> None:
    """Stopped between removing its lock file and letting go of its flock, the command still
    removes every file of the lock before it stops."""
    env = tmp_path / "env"
    proc = killed(
        "venv", env, "-q", at="lock:holder-file-removed", ANYVENV_TEST_KILL_SIGNAL=signal_name
    )
    assert proc.returncode == (130 if signal_name == "INT" else 143), proc.stderr
    assert not [p for p in tmp_path.iterdir() if p.name != "env"]
    assert not leftovers(tmp_path, depth=1)


@pytest.mark.parametrize("signal_name", ["INT", "TERM", "HUP"])
def test_a_stop_sent_to_the_group_while_a_probe_clears_up_leaves_none_of_its_files(
    signal_name: str, lab: Lab
) -> None:
    """A stop that reaches the whole process group (Ctrl-C, a closed terminal's SIGHUP, the
    SIGTERM of `timeout`) just as the probe begun early on a share removes its scratch
    directory: the probe's child finishes removing it, the command waits for it and stops
    as stopped, and nothing of either is left."""
    target = lab.target("faultfs:cifs-like")
    env = target / "env"
    proc = killed(
        "venv", env, "-q", "--python", sys.executable, at="probe:answered",
        ANYVENV_TEST_KILL_SIGNAL=signal_name,
    )  # fmt: skip
    codes = {"INT": 130, "TERM": 143, "HUP": 129}
    assert proc.returncode == codes[signal_name], proc.stderr
    assert not leftovers(target, depth=2), leftovers(target, depth=2)
    assert not os.path.lexists(env)


def test_a_ctrl_c_while_the_env_is_checked_is_an_interruption(tmp_path: Path) -> None:
    """Ctrl-C reaches the new python's start-up check too (the terminal signals the whole
    process group): the command stops as interrupted, not as an env whose python fails."""
    env = tmp_path / "env"
    proc = killed("venv", env, "-q", at="create:activate.fish", ANYVENV_TEST_KILL_SIGNAL="INT")
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.decode().strip() == "anyvenv: interrupted"
    assert os.listdir(tmp_path) == []

"""A private OpenSSH server on 127.0.0.1 for sshfs mounts (own keys, own config)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.mounts import LabUnavailable, require_programs, require_root, run, stop_process

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
START_TIMEOUT = 20.0

_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {workdir}/host_ed25519
PidFile {workdir}/sshd.pid
AuthorizedKeysFile {workdir}/authorized_keys
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 100
MaxSessions 100
LogLevel ERROR
Subsystem sftp {sftp_server}
# the sftp servers run through root's shell, and bash sources ~/.bashrc for a command run by
# sshd: a home of the lab's own, so that the machine's rc (pyenv init: a rehash rewriting
# every shim while tests run them) is not run by each mount
SetEnv HOME={workdir}/home
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(name: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait until the server ``process`` (``name``, logging to ``log``) listens on ``port`` of
    127.0.0.1; it is stopped if it does not within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabUnavailable(f"{name} exited: {log.read_text(errors='replace')[-2000:]}")
        if port_open(port):
            return
        time.sleep(0.05)
    stop_process(process, wait_first=False)
    raise LabUnavailable(f"{name} not listening on {port} after {START_TIMEOUT:.0f}s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass
class SshServer:
    """sshd serving root logins with a generated key; see ``sshfs_command``."""

    workdir: Path
    port: int
    client_key: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, workdir: Path) -> SshServer:
        require_root("sshd")
        require_programs(SSHD, "ssh-keygen", "sshfs", "ssh")
        workdir.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        _make_keys(workdir)
        port = free_port()
        config = workdir / "sshd_config"
        config.write_text(_CONFIG.format(port=port, workdir=workdir, sftp_server=SFTP_SERVER))
        run([SSHD, "-t", "-f", config])
        log = workdir / "sshd.log"
        with open(log, "ab") as log_stream:
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(workdir, port, workdir / "client_ed25519", process)
        wait_listening("sshd", process, port, log)
        return server

    def ssh_options(self) -> list[str]:
        """sshfs/ssh -o options: our key and port, no host key checks, no prompts."""
        return [
            f"port={self.port}",
            f"IdentityFile={self.client_key}",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "BatchMode=yes",
            "LogLevel=ERROR",
        ]

    def sshfs_command(
        self,
        source: Path,
        mountpoint: Path,
        fsname: str,
        sftp_server: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> list[str]:
        """sshfs in the foreground with Debian's default options plus ours."""
        options = [*self.ssh_options(), f"fsname={fsname}", "auto_unmount", *extra]
        command = ["sshfs", "-f", f"root@127.0.0.1:{source}", str(mountpoint)]
        for option in options:
            command += ["-o", option]
        if sftp_server is not None:
            command += ["-o", f"sftp_server={sftp_server}"]
        return command

    def stop(self) -> None:
        stop_process(self.process, wait_first=False)


def _make_keys(workdir: Path) -> None:
    for name in ("host_ed25519", "client_ed25519"):
        key = workdir / name
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"anyvenv-lab-{name}",
                 "-f", key])  # fmt: skip
    public = (workdir / "client_ed25519.pub").read_text()
    authorized = workdir / "authorized_keys"
    authorized.write_text(public)
    os.chmod(authorized, 0o600)

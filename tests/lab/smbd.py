"""A private Samba server on 127.0.0.1 and the smbnetfs client that mounts its share.

No kernel SMB client here (no ``cifs`` in /proc/filesystems), so the share is reached as
a desktop does (gvfs-smb, KIO): through libsmbclient, in the FUSE program smbnetfs. smbnetfs
mounts the whole network (``MNT/HOST/SHARE``); the lab bind-mounts the share's directory
(``MNT/127.0.0.1:PORT/share``) where a test can use it, and its fstype stays
``fuse.smbnetfs``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.mounts import require_programs, require_root, run, stop_process
from lab.sshd import free_port, wait_listening

SMBD = "/usr/sbin/smbd"
SHARE = "share"

# a standalone server on one port of 127.0.0.1, all its state under its work dir; guests
# come in as root, so files are the test's own (Samba's defaults otherwise: names
# case-insensitive, no SMB1 and so no Unix extensions, DOS attributes shown as modes)
_SERVER_CONFIG = """\
[global]
  server role = standalone server
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  map to guest = Bad User
  lock directory = {workdir}/lock
  state directory = {workdir}/state
  cache directory = {workdir}/cache
  private dir = {workdir}/private
  pid directory = {workdir}/run
  ncalrpc dir = {workdir}/ncalrpc
  log file = {workdir}/smbd.log
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
[{share}]
  path = {workdir}/{share}
  read only = no
  guest ok = yes
  force user = root
"""

# libsmbclient's own settings, read by smbnetfs's helpers from $HOME/.smb/smb.conf
_CLIENT_CONFIG = """\
[global]
  client min protocol = SMB2
"""

_SMBNETFS_OPTIONS = (
    "smb_query_browsers=false",  # no network browsing: the one host is named in the path
    "use_libsecret=false",
    "auto_unmount",
)


@dataclass
class SambaServer:
    """smbd serving one writable share to guests; see ``smbnetfs_command``."""

    workdir: Path
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, workdir: Path) -> SambaServer:
        require_root("smbd")
        require_programs(SMBD, "smbnetfs")
        for name in ("lock", "state", "cache", "private", "run", "ncalrpc", SHARE, "client/.smb"):
            (workdir / name).mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = workdir / "smb.conf"
        config.write_text(_SERVER_CONFIG.format(port=port, workdir=workdir, share=SHARE))
        run(["testparm", "--suppress-prompt", config])
        (workdir / "client/.smb/smb.conf").write_text(_CLIENT_CONFIG)
        (workdir / "client/.smb/smbnetfs.conf").write_text("")
        log = workdir / "smbd.out"
        with open(log, "ab") as log_stream:
            process = subprocess.Popen(
                [SMBD, "--foreground", "--no-process-group", f"--configfile={config}"],
                stdin=subprocess.DEVNULL,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_listening("smbd", process, port, log)
        return cls(workdir, port, process)

    @property
    def share_dir(self) -> Path:
        """The shared directory, on the server's side."""
        return self.workdir / SHARE

    def share_in(self, network_mount: Path) -> Path:
        """Where the share shows in an smbnetfs mount of the network."""
        return network_mount / f"127.0.0.1:{self.port}" / SHARE

    def smbnetfs_command(self, mountpoint: Path) -> tuple[list[str], dict[str, str]]:
        """smbnetfs in the foreground, and the environment it needs (its settings are read
        from $HOME/.smb)."""
        command = ["smbnetfs", str(mountpoint), "-f"]
        config = self.workdir / "client/.smb/smbnetfs.conf"
        command += ["-o", ",".join([f"config={config}", *_SMBNETFS_OPTIONS])]
        environment = {"HOME": str(self.workdir / "client"), "PATH": "/usr/sbin:/usr/bin:/bin"}
        return command, environment

    def stop(self) -> None:
        stop_process(self.process, wait_first=False)

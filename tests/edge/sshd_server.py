"""A real OpenSSH server (Debian's openssh-server) on a loopback port, for `tfedge deploy` tests.

Generated host and client keys, key-only login for the current user, and an ssh config file
(`ssh -F`) that points at it: the user's own ~/.ssh is never read or written.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = next((p for p in ("/usr/sbin/sshd", shutil.which("sshd") or "") if p and Path(p).exists()), None)
HOST_ALIAS = "device"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


class SshServer:
    """`sshd -D -f CONFIG` on 127.0.0.1:port; `ssh_config` reaches it as host `device`."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.port, self.user = folder, _free_port(), getpass.getuser()
        for name in ("host_key", "client_key", "stranger_key"):
            _keygen(folder / name)
        (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
        host_public = (folder / "host_key.pub").read_text().split()
        (folder / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_public[0]} {host_public[1]}\n")
        self.config = folder / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
            f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", f"AllowUsers {self.user}",
            "LogLevel ERROR", ""]))
        self.ssh_config = self.client_config("client_key")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=open(folder / "sshd.log", "wb"))
        self._wait_listening()

    def client_config(self, key: str) -> Path:
        """An ssh config file that logs in with `key` (another key than `client_key` is refused)."""
        path = self.folder / f"ssh_config_{key}"
        path.write_text("\n".join([
            f"Host {HOST_ALIAS}", "  HostName 127.0.0.1", f"  Port {self.port}", f"  User {self.user}",
            f"  IdentityFile {self.folder / key}", "  IdentitiesOnly yes", "  IdentityAgent none",
            f"  UserKnownHostsFile {self.folder / 'known_hosts'}", "  GlobalKnownHostsFile /dev/null",
            "  StrictHostKeyChecking yes", "  LogLevel ERROR", ""]))
        return path

    def _wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

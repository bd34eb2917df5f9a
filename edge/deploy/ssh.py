"""The device as the system's OpenSSH client reaches it: the target, the ssh command, its errors.

The user's own keys, agent and ~/.ssh/config apply (ssh is run as the user would run it);
BatchMode is on, so a refused key is an error at once, never a password prompt.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from tfedge.errors import DependencyError, RemoteError, UsageError

DEFAULT_REMOTE_PATH = "model.tflite"  # relative to the remote user's home, where ssh starts


@dataclass(frozen=True)
class Target:
    """`[USER@]HOST[:PATH]`: where the model goes."""

    destination: str  # [user@]host, as ssh takes it
    path: str

    @property
    def host(self) -> str:
        return self.destination.rpartition("@")[2]


def parse_target(text: str) -> Target:
    """A Target from `[USER@]HOST[:PATH]` (an IPv6 host in brackets: `pi@[fe80::1]:m.tflite`)."""
    match = re.fullmatch(r"((?:[^@/:\s\[\]]+@)?)(\[[0-9A-Fa-f:.%\w]+\]|[^@/:\s\[\]]+)(?::(.*))?", text)
    if not match:
        raise UsageError(f"{text!r} is not [USER@]HOST[:PATH] "
                         "(for example pi@raspberrypi.local:model.tflite)")
    user, host, path = match.groups()
    path = path or DEFAULT_REMOTE_PATH
    if path.endswith("/"):
        raise UsageError(f"{text!r}: PATH {path!r} names a folder; give the model's file path "
                         f"(for example {path}{DEFAULT_REMOTE_PATH})")
    return Target(user + host.strip("[]"), path)


@dataclass(frozen=True)
class SshOptions:
    """How ssh is called: `config` (-F), extra `-o` options, and the program."""

    config: str | None = None
    options: tuple[str, ...] = ()
    program: str = "ssh"
    connect_timeout_s: int = 10

    def command(self, target: Target, remote_command: str) -> list[str]:
        program = shutil.which(self.program)
        if program is None:
            raise DependencyError(f"{self.program} is not installed; install the OpenSSH client "
                                  "(sudo apt install openssh-client)")
        words = [program, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout_s}"]
        if self.config:
            words += ["-F", self.config]
        for option in self.options:
            words += ["-o", option]
        return [*words, "--", target.destination, remote_command]


def connection_error(target: Target, stderr: str) -> RemoteError:
    """ssh's exit status 255 (it could not connect or log in) as one line saying what to check."""
    text = stderr.strip()
    host = target.host
    if "Could not resolve hostname" in text or "Name or service not known" in text:
        return RemoteError(f"unknown host {host!r}: check the name, or its Host entry in ~/.ssh/config")
    if "Permission denied" in text:
        return RemoteError(f"{host} refused the key for {target.destination}: check that your public key "
                           f"is in the device's ~/.ssh/authorized_keys (ssh-copy-id {target.destination})")
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return RemoteError(f"{host}'s host key is unknown or has changed: connect once with "
                           f"`ssh {target.destination}` to check and accept it")
    if any(word in text for word in ("Connection refused", "timed out", "No route to host",
                                     "Network is unreachable")):
        return RemoteError(f"cannot reach {host} ({text.splitlines()[-1]}): check that it is on, "
                           "on this network, and runs an SSH server")
    last = text.splitlines()[-1] if text else "no message"
    return RemoteError(f"ssh to {target.destination} failed ({last}); "
                       f"try `ssh {target.destination}` to see why")

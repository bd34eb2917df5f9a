"""A systemd unit that starts `tfedge run` at boot and restarts it when it fails."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")


def systemd_quote(word: str) -> str:
    """One ExecStart word as systemd reads it: % and $ escaped, quoted when it has spaces."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not re.search(r'[\s"\'\\;]', word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class ServiceSettings:
    """What the unit runs and as whom.

    Attributes:
        command: the full command line (program first), e.g. ["/home/pi/venv/bin/tfedge", "run", ...].
        name: unit name (the file is NAME.service).
        user: account that runs it (needs the video group for cameras); None: root.
        working_dir: its working directory (snapshots and relative paths land here).
        restart_sec: seconds systemd waits before restarting it after a failure.
        environment: extra environment variables.
    """

    command: list[str]
    name: str = "tfedge"
    user: str | None = None
    working_dir: str | None = None
    restart_sec: int = 5
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.@-]+", self.name):
            raise ValueError(f"service name {self.name!r} may hold only letters, digits and _ . @ -")


def unit_text(settings: ServiceSettings) -> str:
    """The .service file's text."""
    environment = {"PYTHONUNBUFFERED": "1", **settings.environment}
    lines = [
        "[Unit]",
        f"Description=tfedge classifier ({settings.name})",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(systemd_quote(word) for word in settings.command),
        "Restart=on-failure",
        f"RestartSec={settings.restart_sec}",
        "# tfedge run stops cleanly on SIGTERM: it releases the camera and prints its summary",
        "KillSignal=SIGTERM",
        "# systemctl reload: tfedge run loads the model file again and swaps it in between two frames",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "TimeoutStopSec=10",
    ]
    if settings.user:
        lines += [f"User={settings.user}", "SupplementaryGroups=video"]
    if settings.working_dir:
        lines.append(f"WorkingDirectory={settings.working_dir}")
    lines += [f"Environment={systemd_quote(f'{key}={value}')}" for key, value in environment.items()]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def log_commands(name: str) -> list[str]:
    """The commands that enable the unit and show its logs."""
    return [
        "sudo systemctl daemon-reload",
        f"sudo systemctl enable --now {name}.service   # start now and at every boot",
        f"systemctl status {name}.service",
        f"journalctl -u {name}.service -f              # follow its log (JSON lines and messages)",
        f"journalctl -u {name}.service -b              # everything since this boot",
    ]

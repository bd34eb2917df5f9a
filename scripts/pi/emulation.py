"""Running aarch64 programs on an x86 host: preflight checks, an Arm /proc/cpuinfo, and chroot.

Everything the emulated Pi needs from the host goes through here: binfmt_misc with Debian's
qemu-user-static, a private mount namespace (so no mount outlives a run, even a killed one),
and the CPU model QEMU emulates (QEMU_CPU) with a matching /proc/cpuinfo bind-mounted over the
guest's. With Debian 12's QEMU 7.2, ai-edge-litert crashes while creating an interpreter when
the guest sees the host's x86 cpuinfo, and the default CPU model ("max") gave wrong int8
XNNPACK results; pinning the model and presenting an Arm cpuinfo fixes both.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _tfedge_exit_codes():
    """tfedge's ExitCode, read from its file: `make test-pi` runs the preflight with the system
    python3 before tfedge is installed, and common/errors.py needs only the standard library."""
    path = Path(__file__).resolve().parents[2] / "common" / "errors.py"
    spec = importlib.util.spec_from_file_location("tfedge_errors_for_emulation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ExitCode


EXIT_CANNOT_EMULATE = _tfedge_exit_codes().DEPENDENCY  # a missing tool or device, as in README
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_ENTRY = BINFMT_DIR / "qemu-aarch64"
QEMU = "qemu-aarch64-static"
HOST_TOOLS = {  # tool -> Debian package that brings it
    QEMU: "qemu-user-static",
    "update-binfmts": "binfmt-support",
    "debootstrap": "debootstrap",
    "zstd": "zstd",
    "unshare": "util-linux",
    "chroot": "coreutils",
}


class CannotEmulate(RuntimeError):
    """This machine cannot run the emulated Pi (not root, no binfmt_misc, a tool missing)."""


@dataclass(frozen=True)
class PiCpu:
    """A Raspberry Pi core as QEMU names it and as the Pi's kernel describes it in /proc/cpuinfo."""

    qemu_name: str
    board: str
    variant: int
    part: int
    revision: int


PI_CPUS = {
    "cortex-a72": PiCpu("cortex-a72", "Raspberry Pi 4 Model B", 0x0, 0xD08, 0x3),
    "cortex-a76": PiCpu("cortex-a76", "Raspberry Pi 5 Model B", 0x4, 0xD0B, 0x1),
}

# AT_HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h) in the order the kernel prints them.
HWCAP_NAMES = ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
               "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3",
               "sm4", "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat", "ilrcpc", "flagm",
               "ssbs", "sb", "paca", "pacg"]


def hwcap_names(hwcap: int) -> list[str]:
    """Feature names of an AT_HWCAP value, as the arm64 kernel lists them in /proc/cpuinfo."""
    return [name for bit, name in enumerate(HWCAP_NAMES) if hwcap >> bit & 1]


def render_cpuinfo(cpu: PiCpu, features: list[str], processors: int) -> str:
    """A /proc/cpuinfo the way a 64-bit Raspberry Pi OS kernel prints it for `cpu`."""
    blocks = []
    for index in range(processors):
        blocks.append(
            f"processor\t: {index}\n"
            "BogoMIPS\t: 108.00\n"
            f"Features\t: {' '.join(features)}\n"
            "CPU implementer\t: 0x41\n"
            "CPU architecture: 8\n"
            f"CPU variant\t: {cpu.variant:#x}\n"
            f"CPU part\t: {cpu.part:#05x}\n"
            f"CPU revision\t: {cpu.revision}\n"
        )
    return "\n".join(blocks) + f"\nModel\t\t: {cpu.board} (emulated by QEMU {cpu.qemu_name})\n"


def _missing_tools() -> list[str]:
    return sorted({package for tool, package in HOST_TOOLS.items() if shutil.which(tool) is None})


def _enable_binfmt() -> None:
    if not (BINFMT_DIR / "status").exists():
        subprocess.run(["mount", "binfmt_misc", "-t", "binfmt_misc", str(BINFMT_DIR)],
                       capture_output=True, check=False)
    if not (BINFMT_DIR / "status").exists():
        raise CannotEmulate(f"binfmt_misc is not available ({BINFMT_DIR} cannot be mounted); "
                            "run on a machine (or privileged container) whose kernel has it")
    if not BINFMT_ENTRY.exists() or BINFMT_ENTRY.read_text().splitlines()[0] != "enabled":
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], capture_output=True, check=False)
    if not BINFMT_ENTRY.exists() or BINFMT_ENTRY.read_text().splitlines()[0] != "enabled":
        raise CannotEmulate("binfmt_misc has no enabled qemu-aarch64 entry; run "
                            "'update-binfmts --enable qemu-aarch64' (package qemu-user-static)")


def binfmt_interpreter() -> tuple[Path, bool]:
    """(interpreter path, whether the kernel opened it at registration: the F flag)."""
    lines = BINFMT_ENTRY.read_text().splitlines()
    path = next(line.split(None, 1)[1] for line in lines if line.startswith("interpreter "))
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    return Path(path), "F" in flags


def qemu_cpu_models() -> list[str]:
    result = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()]


def preflight(cpu_names: list[str]) -> None:
    """Check (and where root can, enable) everything emulation needs. Raises CannotEmulate."""
    if os.geteuid() != 0:
        raise CannotEmulate("needs root (it mounts and chroots into an arm64 root "
                            "filesystem); run it as root, e.g. sudo make test-pi")
    missing = _missing_tools()
    if missing:
        raise CannotEmulate(f"missing host tools; run: apt-get install {' '.join(missing)}")
    _enable_binfmt()
    models = qemu_cpu_models()
    unknown = [name for name in cpu_names if name not in models]
    if unknown:
        raise CannotEmulate(f"this QEMU cannot emulate {', '.join(unknown)} "
                            f"(it knows {', '.join(models)}); install a newer qemu-user-static")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        raise CannotEmulate("cannot create a private mount namespace (unshare --mount failed); "
                            "run as root with CAP_SYS_ADMIN")


@dataclass
class Mount:
    """One bind mount into the root: host `source` at `target` (absolute inside the root)."""

    source: Path
    target: str
    read_only: bool = True


def chroot_command(root: Path, command: list[str], env: dict[str, str], mounts: list[Mount] = (),
                   cpuinfo: Path | None = None, workdir: str = "/") -> list[str]:
    """The host command that runs `command` inside `root` with the given guest environment.

    Mounts happen in a private mount namespace (unshare), so they vanish when it exits.
    """
    root = Path(root)
    steps = [
        f"mount -t proc proc {shlex.quote(str(root / 'proc'))}",
        f"mount -t sysfs -o ro sysfs {shlex.quote(str(root / 'sys'))}",
        f"mount --bind /dev {shlex.quote(str(root / 'dev'))}",
    ]
    if cpuinfo is not None:
        steps.append(f"mount --bind {shlex.quote(str(cpuinfo))} {shlex.quote(str(root / 'proc/cpuinfo'))}")
    for mount in mounts:
        target = root / mount.target.lstrip("/")
        if mount.source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch(exist_ok=True)
        quoted = f"{shlex.quote(str(mount.source))} {shlex.quote(str(target))}"
        steps.append(f"mount --bind {quoted}")
        if mount.read_only:
            steps.append(f"mount -o remount,bind,ro {shlex.quote(str(target))}")
    guest = ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in sorted(env.items())),
             "/bin/sh", "-c", f"cd {shlex.quote(workdir)} && exec " + shlex.join(command)]
    if "QEMU_CPU" in env:  # the first guest program (env) runs under the pinned model too
        steps.append(f"export QEMU_CPU={shlex.quote(env['QEMU_CPU'])}")
    steps.append("exec chroot " + shlex.quote(str(root)) + " " + shlex.join(guest))
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-ec", "\n".join(steps)]


def guest_env(cpu: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean guest environment with QEMU pinned to `cpu` (QEMU_CPU is read by qemu-user)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "QEMU_CPU": cpu,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra or {})
    return env


def install_interpreter_if_needed(root: Path) -> None:
    """Copy QEMU into the root when binfmt_misc opens it per exec (no F flag) rather than once."""
    interpreter, fixed = binfmt_interpreter()
    if not fixed:
        target = root / str(interpreter).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(interpreter, target)

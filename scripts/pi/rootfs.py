"""The emulated Pi's root filesystems: Debian 12 and 13 arm64 (Raspberry Pi OS bookworm and
trixie, Python 3.11 and 3.13) with the device wheels.

Building takes minutes (debootstrap's second stage runs emulated), so the finished root is kept
as a zstd tarball in a cache OUTSIDE the clone, named by a hash of what it contains: the Debian
release, its packages, the Python requirements of each device venv and the recipe version. A
sha256 file beside each tarball detects a corrupted cache, which is then rebuilt.

The root holds Debian's python3, and for each device venv the aarch64 wheels that `pip download`
chose INSIDE the emulated Pi (so resolution sees the Pi's real platform tags, through the host's
CA certificates and pip configuration) under WHEELS_DIR, installed in a venv at venv_path().
Each test run installs the project's fresh wheel with its extra into that venv, offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomllib
from emulation import Mount, chroot_command, guest_env

RECIPE_VERSION = 2  # bump when the build steps below change what the root holds
WHEELS_DIR = "/opt/tfedge-wheels"
MANIFEST = "etc/tfedge-pi-root.json"
KEEP_TARBALLS = 2


# libgl1 and libglib2: `import cv2` of opencv-python (OpenCV's GUI build) links libGL.so.1 and
# libgthread-2.0.so.0, as on Raspberry Pi OS desktop, where both are always there.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "libgl1", "libglib2.0-0")


@dataclass(frozen=True)
class PiOs:
    """A Raspberry Pi OS release as the emulated Pi builds it: Debian's release of the same name."""

    release: str
    debian: int
    python: str  # Debian's python3 in that release, major.minor
    packages: tuple[str, ...]
    venvs: tuple[str, ...]  # the tfedge extras a device venv is made for (tflite-runtime: <= 3.11)


PI_OSES = {
    "bookworm": PiOs("bookworm", 12, "3.11", BASE_PACKAGES, ("litert", "tflite-runtime")),
    # trixie's 64-bit time_t transition renamed libglib2.0-0 (debootstrap takes no virtual names)
    "trixie": PiOs("trixie", 13, "3.13",
                   tuple(p.replace("libglib2.0-0", "libglib2.0-0t64") for p in BASE_PACKAGES), ("litert",)),
}


@dataclass(frozen=True)
class RootSpec:
    """What the cached root holds; its hash names the cache entry."""

    release: str = "bookworm"
    arch: str = "arm64"
    mirror: str = "http://deb.debian.org/debian"
    packages: tuple[str, ...] = BASE_PACKAGES
    # venv name -> requirements downloaded for it (from pyproject.toml, plus the test runner)
    venvs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    recipe: int = RECIPE_VERSION

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def venv_path(name: str) -> str:
    """Where the device venv `name` lives in the root (its third-party packages come cached)."""
    return f"/opt/venv-{name}"


def for_python(requirement: str, python: str) -> str | None:
    """`requirement` without its environment marker when that marker holds on an aarch64 Linux
    with Python `python` (major.minor), else None: the root's pip sees the marker-free list."""
    if ";" not in requirement:
        return requirement
    from packaging.markers import Marker  # pip's own marker logic; only when a marker is there

    name, marker = (part.strip() for part in requirement.split(";", 1))
    environment = {"python_version": python, "python_full_version": f"{python}.0",
                   "platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
                   "os_name": "posix", "implementation_name": "cpython"}
    return name if Marker(marker).evaluate(environment) else None


def device_requirements(pyproject: Path, extra: str, python: str = PI_OSES["bookworm"].python
                        ) -> tuple[str, ...]:
    """The project's base requirements plus one extra's, as pyproject.toml declares them, for an
    aarch64 Linux with Python `python` (requirements whose marker excludes it are left out)."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    declared = list(project["dependencies"]) + list(project["optional-dependencies"][extra])
    return tuple(r for r in (for_python(r, python) for r in declared) if r is not None)


def spec_for(pyproject: Path, release: str = "bookworm", mirror: str | None = None) -> RootSpec:
    """What the root of Raspberry Pi OS `release` holds, with a venv for each extra it supports."""
    pi_os = PI_OSES[release]
    venvs = {extra: device_requirements(pyproject, extra, pi_os.python) + ("pytest",)
             for extra in pi_os.venvs}
    return RootSpec(release=release, packages=pi_os.packages, venvs=venvs,
                    **({"mirror": mirror} if mirror else {}))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tarball_path(cache_dir: Path, spec: RootSpec) -> Path:
    return Path(cache_dir) / f"rootfs-{spec.release}-{spec.arch}-{spec.key()}.tar.zst"


def cached_tarball_ok(tarball: Path) -> tuple[bool, str]:
    """(usable, why not) for a cached tarball: it and its sha256 file exist and agree."""
    checksum = tarball.with_name(tarball.name + ".sha256")
    if not tarball.exists():
        return False, "not cached yet"
    if not checksum.exists():
        return False, f"{checksum.name} is missing"
    expected = checksum.read_text().split()[0] if checksum.read_text().strip() else ""
    if sha256_of(tarball) != expected:
        return False, "checksum mismatch (corrupted cache)"
    return True, ""


def pip_host_mounts() -> tuple[list[Mount], dict[str, str]]:
    """Bind mounts and PIP_* variables that let pip inside the root reach the host's package index.

    The host's CA bundle, its pip config files, and the local folders that config points at
    (find-links, extra index folders given as file:// URLs) appear at the same paths in the root.
    """
    mounts: list[Mount] = []

    def add(path: str) -> None:
        source = Path(path)
        covered = any(source == m.source or m.source in source.parents for m in mounts)
        if source.exists() and not covered:
            mounts.append(Mount(source, str(source)))

    env = {k: v for k, v in os.environ.items()
           if k.startswith("PIP_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy")}
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf", "/etc/xdg/pip",
                      "/etc/resolv.conf", env.get("PIP_CONFIG_FILE", "")):
        if candidate:
            add(candidate)
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                            text=True, check=False)
    values = [line.split("=", 1)[1].strip("'\"") for line in listed.stdout.splitlines() if "=" in line]
    for value in values + list(env.values()):
        for item in value.split():
            path = item.removeprefix("file://")
            if path.startswith("/"):
                add(path)
    return mounts, env


def _run(command: list[str], log) -> None:
    log("    $ " + " ".join(command[:6]) + (" ..." if len(command) > 6 else ""))
    subprocess.run(command, check=True)


def build(spec: RootSpec, staging: Path, log=print) -> None:
    """Make the root in `staging`: debootstrap, then the wheels each device venv needs."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.parent.mkdir(parents=True, exist_ok=True)
    # debootstrap mounts /proc and /sys in the target: a private namespace drops them on any exit
    _run(["unshare", "--mount", "--propagation", "private",
          "debootstrap", f"--arch={spec.arch}", "--variant=minbase",
          "--include=" + ",".join(spec.packages), spec.release, str(staging), spec.mirror], log)
    mounts, pip_env = pip_host_mounts()
    env = guest_env("cortex-a72", {**pip_env, "PIP_NO_CACHE_DIR": "1"})
    script = ["set -e"]
    for name, requirements in spec.venvs.items():
        quoted = " ".join(f"'{r}'" for r in requirements)
        script += [f"python3 -m venv {venv_path(name)}",
                   f"{venv_path(name)}/bin/pip download -q --only-binary=:all: "
                   f"--dest {WHEELS_DIR}/{name} {quoted}",
                   f"{venv_path(name)}/bin/pip install -q --no-index --find-links {WHEELS_DIR}/{name} "
                   f"{quoted}"]
    _run(chroot_command(staging, ["/bin/sh", "-c", "\n".join(script)], env, mounts), log)
    _remove_mount_points(staging, mounts)
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (staging / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    wheels = {name: sorted(p.name for p in (staging / WHEELS_DIR.lstrip("/") / name).glob("*.whl"))
              for name in spec.venvs}
    (staging / MANIFEST).write_text(json.dumps({"key": spec.key(), "spec": asdict(spec),
                                                "wheels": wheels}, indent=1) + "\n")


def _remove_mount_points(root: Path, mounts: list[Mount]) -> None:
    """Remove the empty files and folders made only to mount host paths on."""
    for mount in mounts:
        target = root / mount.target.lstrip("/")
        if target.is_file() and target.stat().st_size == 0:
            target.unlink()
        elif target.is_dir():
            for folder in [target, *target.parents]:
                if folder == root or any(folder.iterdir()):
                    break
                folder.rmdir()


def pack(staging: Path, tarball: Path) -> None:
    """Write the tarball and its sha256 file (temp names, then renamed: a crash leaves no entry)."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_name(tarball.name + ".partial")
    subprocess.run(["tar", "--numeric-owner", "-I", "zstd -T0 -6", "-C", str(staging), "-cf",
                    str(partial), "."], check=True)
    checksum = tarball.with_name(tarball.name + ".sha256")
    partial_sum = checksum.with_name(checksum.name + ".partial")
    partial_sum.write_text(f"{sha256_of(partial)}  {tarball.name}\n")
    partial.rename(tarball)
    partial_sum.rename(checksum)


def prune(cache_dir: Path, keep: Path) -> None:
    """Drop older cached roots of `keep`'s release and architecture, keeping `keep` and the newest
    others up to KEEP_TARBALLS (each release keeps its own: bookworm's never evicts trixie's)."""
    release_arch = keep.name.rsplit("-", 1)[0]  # rootfs-RELEASE-ARCH
    others = sorted((p for p in Path(cache_dir).glob(f"{release_arch}-*.tar.zst") if p != keep),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP_TARBALLS - 1:]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".sha256").unlink(missing_ok=True)


def extract(tarball: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-I", "zstd", "-C", str(root), "-xpf", str(tarball)],
                   check=True)


def restore_or_build(spec: RootSpec, cache_dir: Path, root: Path, log=print) -> str:
    """Put a fresh copy of the root at `root`, from the cache when it is intact. Returns how."""
    tarball = tarball_path(cache_dir, spec)
    usable, why = cached_tarball_ok(tarball)
    if usable:
        try:
            extract(tarball, root)
            return f"restored from {tarball}"
        except subprocess.CalledProcessError:
            why = "tarball does not extract (corrupted cache)"
    log(f"  root filesystem {spec.key()}: {why}; building it (debootstrap, several minutes)")
    tarball.unlink(missing_ok=True)
    staging = root.with_name(root.name + ".build")
    build(spec, staging, log)
    pack(staging, tarball)
    prune(cache_dir, tarball)
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)
    return f"built and cached as {tarball} ({why})"

"""README "On the device", step by step, in the emulated Pi's root of one Raspberry Pi OS release.

What a user types on a fresh Pi, run as root in a copy of the cached root (restored, changed,
then thrown away): apt-get installs the camera and OpenCV packages (Debian's archive: Raspberry
Pi's own, which holds python3-picamera2, is not reachable from here, so Debian's
python3-libcamera, picamera2's binding, stands in for it), a user `pi` joins the `video` group,
a venv made with --system-site-packages gets the project's wheel with [litert], sees Debian's
libcamera (trixie; Debian 12 has no python3-libcamera) and numpy, and `tfedge run --headless`
classifies the video, as pi, from a model and video copied into pi's home. Each step prints ok or
FAILED with what it saw; exit 0 when every step passed.

Needs the network to Debian's archive and a first `make test-pi` (its fixtures and wheel);
takes several minutes per release under QEMU, so CI does not run it.

    python scripts/pi/device_steps.py [--oses bookworm,trixie]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from emulation import EXIT_CANNOT_EMULATE, CannotEmulate, install_interpreter_if_needed, preflight
from harness import BUILD, GUEST_MNT, Guest, build_wheel, log, make_stage
from rootfs import PI_OSES, WHEELS_DIR, pip_host_mounts, restore_or_build, spec_for

REPO = Path(__file__).resolve().parents[2]
CPU = "cortex-a76"  # the Pi 5; the device suite covers both cores, these steps are about packaging
USER_VENV = "/home/pi/tfedge"
STEP_TIMEOUT_S = 1500
STEPS = BUILD / "steps"  # its own wheel and stage: a `make test-pi` may be using build/pi/stage


def steps(release: str, wheel: str) -> list[tuple[str, str, str]]:
    """(what, shell command run as root in the guest, text its output must hold) per README step."""
    glib = next(p for p in PI_OSES[release].packages if p.startswith("libglib2.0-0"))  # its real name
    libcamera = ["python3-libcamera"] if PI_OSES[release].debian >= 13 else []
    sees = "import libcamera; print(\"libcamera\", libcamera.__file__); " if libcamera else ""
    as_pi = "runuser -u pi --"
    packages = " ".join(["python3-venv", *libcamera, "python3-numpy", "libgl1", "libglib2.0-0", "v4l-utils"])
    return [
        (f"apt-get install {packages} (the README's line; python3-libcamera stands in for "
         "python3-picamera2)",
         "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
         f"--no-install-recommends {packages} 2>&1 | grep -v '^E: Can not write log' | grep -i 'note\\|^E:'; "
         f"dpkg-query -W -f='${{Package}} ${{Version}}\\n' {packages.replace('libglib2.0-0', glib)} "
         "&& echo installed", "installed"),
        ("a user pi in the video group (camera and /dev/video* access)",
         "useradd -m pi && usermod -aG video pi && id -nG pi", "video"),
        ("python3 -m venv --system-site-packages, as pi",
         f"{as_pi} python3 -m venv --system-site-packages {USER_VENV} && {USER_VENV}/bin/python -c "
         "'import sys; print(sys.version.split()[0], sys.prefix)'", USER_VENV),
        ("pip install the wheel [litert] into it (offline, from the root's aarch64 wheels)",
         f"{as_pi} {USER_VENV}/bin/pip install -q --no-index --find-links {WHEELS_DIR}/litert "
         f"'{wheel}[litert]' && {USER_VENV}/bin/pip check && echo pip-ok", "pip-ok"),
        ("the venv sees Debian's packages (numpy, libcamera on trixie); no TensorFlow",
         f"{as_pi} {USER_VENV}/bin/python -c '{sees}import numpy, cv2, importlib.util as u; "
         "print(\"numpy\", numpy.__version__, numpy.__file__, \"cv2\", cv2.__version__); "
         "assert u.find_spec(\"tensorflow\") is None; print(\"sees-ok\")'", "sees-ok"),
        ("tfedge run --headless on the video, as pi (model and video copied to pi's home)",
         f"cp {GUEST_MNT}/fixtures/models/model_int8.tflite {GUEST_MNT}/fixtures/video.mp4 /home/pi/ && "
         f"chown pi: /home/pi/model_int8.tflite /home/pi/video.mp4 && cd /home/pi && "
         f"{as_pi} {USER_VENV}/bin/tfedge run model_int8.tflite --source video.mp4 --headless | tail -n 1",
         '"summary"'),
    ]


def run_steps(release: str, args, wheel: Path) -> bool:
    root = args.work_dir / f"steps-root-{release}"
    log(f"== {release}: README 'On the device' in the emulated root")
    log("  " + restore_or_build(spec_for(REPO / "pyproject.toml", release), args.cache_dir, root, log))
    install_interpreter_if_needed(root)
    guest = Guest(root, STEPS / "stage", STEPS / "results")
    guest.mounts += pip_host_mounts()[0]  # resolv.conf and CA certificates, for apt-get
    guest.present_cpuinfo(CPU, STEPS)  # an Arm /proc/cpuinfo: ai-edge-litert needs one under QEMU
    passed = True
    try:
        for what, command, expected in steps(release, f"{GUEST_MNT}/wheel/{wheel.name}"):
            result = guest.run(["/bin/sh", "-c", command], CPU, capture=True, check=False,
                               timeout=STEP_TIMEOUT_S)
            output = (result.stdout + result.stderr).strip()
            ok = result.returncode == 0 and expected in output
            passed &= ok
            log(f"  {'ok    ' if ok else 'FAILED'} {what}")
            for line in output.splitlines()[-4:]:
                log(f"         {line[:160]}")
            if not ok:
                break
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oses", default=",".join(PI_OSES), help="Raspberry Pi OS releases")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(os.environ.get("TFEDGE_PI_CACHE", "/var/cache/tfedge-pi")))
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("TFEDGE_PI_WORK", "/var/tmp/tfedge-pi")))
    args = parser.parse_args()
    oses = args.oses.split(",")
    unknown = [name for name in oses if name not in PI_OSES]
    if unknown:
        parser.error(f"--oses: {', '.join(unknown)} is unknown; choose from {', '.join(PI_OSES)}")
    try:
        preflight([CPU])
    except CannotEmulate as error:
        print(f"device_steps: {error}", file=sys.stderr)
        return EXIT_CANNOT_EMULATE
    fixtures = BUILD / "fixtures"
    if not fixtures.is_dir():
        print("device_steps: no fixtures yet; run make test-pi first (it makes build/pi/fixtures)",
              file=sys.stderr)
        return EXIT_CANNOT_EMULATE
    wheel = build_wheel(STEPS / "wheel")
    make_stage(STEPS / "stage", fixtures, wheel)
    (STEPS / "results").mkdir(parents=True, exist_ok=True)
    results = {release: run_steps(release, args, wheel) for release in oses}
    log("== summary: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

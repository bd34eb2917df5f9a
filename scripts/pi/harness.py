"""`make test-pi`: the device runtime tested on an emulated Raspberry Pi (Debian arm64, QEMU).

Steps: check the host can emulate aarch64; make the models, video, folder and x86 reference
outputs; build the project's wheel; then for each Raspberry Pi OS release (bookworm: Debian 12,
Python 3.11; trixie: Debian 13, Python 3.13) restore (or build and cache) its root filesystem,
install the wheel in fresh venvs inside it (ai-edge-litert; on bookworm also tflite-runtime with
numpy<2, which has no wheels for Python 3.13) and run tests/edge and tests/device there with
QEMU pinned to each Pi core.

Emulated timings say nothing about a real Pi's speed: none are reported as such.

    python scripts/pi/harness.py [--oses bookworm,trixie] [--cpus cortex-a72,cortex-a76]
                                 [--venvs litert,tflite-runtime]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emulation import (
    EXIT_CANNOT_EMULATE,
    PI_CPUS,
    CannotEmulate,
    Mount,
    chroot_command,
    guest_env,
    hwcap_names,
    install_interpreter_if_needed,
    preflight,
    render_cpuinfo,
)
from rootfs import PI_OSES, WHEELS_DIR, PiOs, restore_or_build, spec_for, venv_path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "pi"
GUEST_MNT = "/mnt/tfedge"  # stage (tests, wheel, fixtures), read-only in the guest
GUEST_RESULTS = "/mnt/results"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
EXIT_TESTS_FAILED = 1
DEVICE_SUITE = ("tests/edge", "tests/device")
SUITE_TIMEOUT_S = 1200  # per CPU model and venv; emulation is slow, but not this slow


def log(message: str) -> None:
    print(message, flush=True)


class Guest:
    """The extracted root with its mounts; runs commands in it under a pinned CPU model."""

    def __init__(self, root: Path, stage: Path, results: Path) -> None:
        self.root = root
        self.mounts = [Mount(stage, GUEST_MNT), Mount(results, GUEST_RESULTS, read_only=False)]
        if FASHION_DIR.is_dir():  # tests/edge exports its small data folder from these IDX files
            self.mounts.append(Mount(FASHION_DIR, str(FASHION_DIR)))
        self.cpuinfo: dict[str, Path] = {}

    def run(self, command: list[str], cpu: str, env: dict | None = None, capture: bool = False,
            check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run `command` in the guest; on timeout its whole process group is killed."""
        host_command = chroot_command(self.root, command, guest_env(cpu, env), self.mounts,
                                      cpuinfo=self.cpuinfo.get(cpu))
        pipe = subprocess.PIPE if capture else None
        with subprocess.Popen(host_command, stdout=pipe, stderr=pipe, text=True,
                              start_new_session=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                stdout, stderr = process.communicate()
                print(f"make test-pi: {command[0]} ran past {timeout:.0f} s in the guest; stopped it",
                      file=sys.stderr)
        result = subprocess.CompletedProcess(host_command, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, command, stdout, stderr)
        return result

    def present_cpuinfo(self, cpu: str, folder: Path) -> list[str]:
        """Write an Arm /proc/cpuinfo for `cpu` with the features QEMU really emulates for it."""
        probe = ("import ctypes; libc = ctypes.CDLL(None); libc.getauxval.restype = ctypes.c_ulong; "
                 "print(libc.getauxval(16))")
        hwcap = int(self.run(["python3", "-c", probe], cpu, capture=True).stdout.strip())
        features = hwcap_names(hwcap)
        path = folder / f"cpuinfo-{cpu}"
        path.write_text(render_cpuinfo(PI_CPUS[cpu], features, os.cpu_count() or 1))
        self.cpuinfo[cpu] = path
        return features


# Modules in tests/ that the device suites import (the suites' own folders are copied whole).
SUITE_HELPERS = ("labelled_video.py", "hostile_metadata.py")


def make_stage(stage: Path, fixtures: Path, wheel: Path) -> None:
    """What the guest sees at GUEST_MNT: the device tests, the wheel, the fixtures."""
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "tests").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "conftest.py", stage / "tests")
    for helper in SUITE_HELPERS:
        shutil.copy(REPO / "tests" / helper, stage / "tests")
    shutil.copy(REPO / "pyproject.toml", stage)  # pytest's settings (markers)
    for suite in DEVICE_SUITE:
        shutil.copytree(REPO / suite, stage / suite, ignore=shutil.ignore_patterns("__pycache__"))
    (stage / "wheel").mkdir()
    shutil.copy(wheel, stage / "wheel")
    shutil.copytree(fixtures, stage / "fixtures")


def build_wheel(out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True)
    return next(out.glob("tfedge-*.whl"))


def install_wheel(guest: Guest, name: str, wheel: Path, cpu: str) -> dict:
    """pip install the project's wheel with extra `name` into that device venv (offline)."""
    venv = venv_path(name)
    script = (f"{venv}/bin/pip install -q --no-index --find-links {WHEELS_DIR}/{name} "
              f"'{GUEST_MNT}/wheel/{wheel.name}[{name}]' && {venv}/bin/pip check && "
              f"{venv}/bin/pip list --format=json")
    listed = guest.run(["/bin/sh", "-c", script], cpu, capture=True)
    packages = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout.splitlines()[-1])}
    tensorflow = [p for p in packages if p.startswith(("tensorflow", "tf-nightly"))]
    if tensorflow:
        raise SystemExit(f"make test-pi: the device venv {name} has {', '.join(tensorflow)} installed; "
                         "the device install must not pull TensorFlow (check pyproject.toml extras)")
    return packages


def junit_counts(path: Path) -> dict:
    if not path.exists():
        return {"tests": 0, "failures": 0, "errors": 1, "skipped": 0}
    suite = ElementTree.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["skip_reasons"] = sorted({s.get("message", "") for s in suite.iter("skipped")})
    return counts


def run_suite(guest: Guest, pi_os: PiOs, name: str, cpu: str, results: Path, wheel: Path,
              install_checks: bool, with_edge: bool) -> dict:
    """The device suite in venv `name` under `cpu`. `install_checks`: also the tests that install
    the wheel afresh (tests/device/test_device_python.py), once per OS rather than on every row.
    `with_edge`: tests/edge too (four fifths of the time), else tests/device alone."""
    tag = f"{pi_os.release}-{cpu}-{name}"
    (results / tag).mkdir(parents=True, exist_ok=True)
    env = {"TFEDGE_TEST_MODELS": f"{GUEST_MNT}/fixtures/models",
           "TFEDGE_DEVICE_FIXTURES": f"{GUEST_MNT}/fixtures",
           "TFEDGE_DEVICE_BACKEND": name,
           "TFEDGE_DEVICE_OS": pi_os.release,
           "TFEDGE_DEVICE_PYTHON": pi_os.python,
           "TFEDGE_DEVICE_RESULTS": f"{GUEST_RESULTS}/{tag}"}
    if install_checks:
        env.update({"TFEDGE_DEVICE_WHEEL": f"{GUEST_MNT}/wheel/{wheel.name}",
                    "TFEDGE_DEVICE_WHEELHOUSE": f"{WHEELS_DIR}/{name}"})
    command = [f"{venv_path(name)}/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--basetemp=/tmp/pytest", f"--junitxml={GUEST_RESULTS}/{tag}/junit.xml",
               "-m", "not no_emulation",
               *(f"{GUEST_MNT}/{suite}" for suite in (DEVICE_SUITE if with_edge else DEVICE_SUITE[1:]))]
    started = time.monotonic()
    log(f"== device suite: {pi_os.release}, venv {name}, QEMU_CPU={cpu}")
    result = guest.run(command, cpu, env, check=False, timeout=SUITE_TIMEOUT_S)
    counts = junit_counts(results / tag / "junit.xml")
    device_json = results / tag / "device.json"
    return {"os": pi_os.release, "python": pi_os.python, "cpu": cpu, "venv": name,
            "install_checks": install_checks, "suites": "edge+device" if with_edge else "device",
            "exit_code": result.returncode, **counts,
            "emulated_wall_s": round(time.monotonic() - started, 1),
            "parity": json.loads(device_json.read_text()) if device_json.exists() else {}}


def parity_summary(runs: list[dict]) -> dict:
    """Worst case, per OS and venv, over every CPU model of what tests/device measured."""
    summary = {}
    for os_name, venv in sorted({(run["os"], run["venv"]) for run in runs}):
        rows = [run for run in runs if (run["os"], run["venv"]) == (os_name, venv)]
        for prefix in ("reference_kernels/int8", "runtime_kernels/int8", "runtime_kernels/float32",
                       "decoding/int8/video", "decoding/int8/folder"):
            found = [value for run in rows for key, value in run["parity"].items()
                     if key == prefix or key.startswith(prefix + "/")]
            summary[f"{prefix} [{os_name} {venv}]"] = {
                "runs": len(found),
                "frames": sum(e["frames"] for e in found),
                "bit_identical": bool(found) and all(e["bit_identical"] for e in found),
                "differing_values": sum(e["differing_values"] for e in found),
                "values": sum(e["values"] for e in found),
                "max_abs_difference": max((e["max_abs_difference"] for e in found), default=None),
            }
    return summary


def report(runs: list[dict], timings: dict, out: Path) -> None:
    log("\n== make test-pi summary (emulated: timings here are NOT Raspberry Pi speed)")
    for step, seconds in timings.items():
        log(f"  {step:<46} {seconds:7.1f} s")
    log(f"  {'total (after preflight)':<46} {sum(timings.values()):7.1f} s")
    log("  one row per OS, CPU and venv; tests/edge on the rows marked edge+device, tests/device on "
        "all (*: also the fresh-install tests, once per OS)")
    for run in runs:
        log(f"  {run['os']:<9} py{run['python']:<5} {run['cpu']:<11} {run['venv']:<15}"
            f"{'*' if run['install_checks'] else ' '} {run['suites']:<12}{run['passed']:3d} passed, "
            f"{run['failures']} failed, "
            f"{run['errors']} errors, {run['skipped']} skipped (exit {run['exit_code']}, "
            f"{run['emulated_wall_s']:.0f} s)")
        for reason in run["skip_reasons"]:
            log(f"      skipped: {reason}")
    parity = parity_summary(runs)
    log("  compared with x86 (its ai-edge-litert) on the same input tensors, worst case over the cores:")
    for what, figures in parity.items():
        log(f"    {what:<50} bit-identical: {str(figures['bit_identical']):<5}  max |difference| "
            f"{figures['max_abs_difference']}  ({figures['differing_values']} of {figures['values']} "
            f"values differ; {figures['frames']} frames in {figures['runs']} runs)")
    out.write_text(json.dumps({"runs": runs, "timings_s": timings, "parity": parity}, indent=1) + "\n")
    log(f"  details: {out}")


def prepare_roots(oses: list[str], cache_dir: Path, work_dir: Path) -> dict[str, Path]:
    """Restore (or build and cache) every release's root at the same time: a cold build is mostly
    one emulated dpkg at a time, so two builds share the host's cores instead of queueing."""
    def prepare(release: str) -> Path:
        pi_os, root = PI_OSES[release], work_dir / f"root-{release}"
        how = restore_or_build(spec_for(REPO / "pyproject.toml", release), cache_dir, root,
                               lambda message: log(f"  [{release}] {message.strip()}"))
        install_interpreter_if_needed(root)
        log(f"== root filesystem {release} (Debian {pi_os.debian} arm64, Python {pi_os.python}): {how}")
        return root

    with ThreadPoolExecutor(max_workers=len(oses)) as pool:
        futures = {release: pool.submit(prepare, release) for release in oses}
    return {release: future.result() for release, future in futures.items()}


def test_os(release: str, root: Path, cpus: list[str], venvs: list[str], stage: Path, wheel: Path,
            results: Path, lap, edge_on_every_cpu: bool = False) -> list[dict] | None:
    """Run the rows of Raspberry Pi OS `release` in its extracted root; None: no emulation.
    tests/edge runs under the first CPU model only (unless `edge_on_every_cpu`): it checks the
    runtime's behaviour, while tests/device, on every row, checks what the core changes."""
    pi_os = PI_OSES[release]
    guest = Guest(root, stage, results)
    machine = guest.run(["uname", "-m"], cpus[0], capture=True, check=False)
    if machine.stdout.strip() != "aarch64":
        print("make test-pi: the root's aarch64 programs do not run here (binfmt_misc/QEMU); "
              f"{machine.stderr.strip()[:200]}", file=sys.stderr)
        return None
    for cpu in cpus:
        features = guest.present_cpuinfo(cpu, BUILD)
        log(f"  {cpu}: /proc/cpuinfo presented with features: {' '.join(features)}")
    for name in venvs:
        packages = install_wheel(guest, name, wheel, cpus[0])
        interesting = ("tfedge", "numpy", "opencv-python", "ai-edge-litert", "tflite-runtime")
        log(f"  venv {name}: " + ", ".join(f"{p} {packages[p]}" for p in interesting if p in packages)
            + "; no TensorFlow")
    lap(f"{release} wheel install (emulated)")
    runs = []
    for cpu in cpus:
        for name in venvs:
            first = cpu == cpus[0] and name == venvs[0]
            runs.append(run_suite(guest, pi_os, name, cpu, results, wheel, install_checks=first,
                                  with_edge=edge_on_every_cpu or cpu == cpus[0]))
            lap(f"{release} {cpu} {name} (emulated)")
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oses", default=",".join(PI_OSES), help="Raspberry Pi OS releases to test")
    parser.add_argument("--cpus", default="cortex-a72,cortex-a76", help="QEMU CPU models (Pi 4, Pi 5)")
    parser.add_argument("--venvs", default="litert,tflite-runtime",
                        help="device venvs to test, where the OS has them (tflite-runtime: bookworm only)")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with the main suite's exported models (else they are made)")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(os.environ.get("TFEDGE_PI_CACHE", "/var/cache/tfedge-pi")))
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("TFEDGE_PI_WORK", "/var/tmp/tfedge-pi")))
    parser.add_argument("--edge-on-every-cpu", action="store_true",
                        help="run tests/edge under every CPU model, not only the first (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the extracted roots afterwards")
    parser.add_argument("--preflight", action="store_true",
                        help="only check that this machine can emulate the Pi (exit 0 or 8)")
    args = parser.parse_args()
    oses, cpus, venvs = args.oses.split(","), args.cpus.split(","), args.venvs.split(",")
    for option, given, known in (("--oses", oses, PI_OSES), ("--cpus", cpus, PI_CPUS),
                                 ("--venvs", venvs, PI_OSES["bookworm"].venvs)):
        unknown = [value for value in given if value not in known]
        if unknown:
            parser.error(f"{option}: {', '.join(unknown)} is unknown; choose from {', '.join(known)}")
    try:
        preflight(cpus)
    except CannotEmulate as error:
        print(f"make test-pi: {error}", file=sys.stderr)
        return EXIT_CANNOT_EMULATE
    if args.preflight:
        return 0

    timings: dict[str, float] = {}
    started = time.monotonic()

    def lap(step: str) -> None:
        nonlocal started
        timings[step] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    log("== x86 side: models, video, labelled folder, reference outputs")
    fixtures = BUILD / "fixtures"
    subprocess.run([sys.executable, str(Path(__file__).with_name("fixtures.py")), "--out",
                    str(fixtures), *(["--models", str(args.models)] if args.models else [])],
                   check=True)
    wheel = build_wheel(BUILD / "wheel")
    lap("x86 fixtures and wheel")
    results = BUILD / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    make_stage(BUILD / "stage", fixtures, wheel)
    oses = [release for release in oses if set(venvs) & set(PI_OSES[release].venvs)]
    roots = prepare_roots(oses, args.cache_dir, args.work_dir)
    lap("root filesystems")
    runs = []
    try:
        for release, root in roots.items():
            its_venvs = [name for name in venvs if name in PI_OSES[release].venvs]
            os_runs = test_os(release, root, cpus, its_venvs, BUILD / "stage", wheel, results, lap,
                              args.edge_on_every_cpu)
            if os_runs is None:
                return EXIT_CANNOT_EMULATE
            runs += os_runs
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        if not args.keep:
            for root in roots.values():
                shutil.rmtree(root, ignore_errors=True)
    report(runs, timings, results / "summary.json")
    failed = [run for run in runs if run["exit_code"] != 0 or run["tests"] == 0]
    return EXIT_TESTS_FAILED if failed or not runs else 0


if __name__ == "__main__":
    sys.exit(main())

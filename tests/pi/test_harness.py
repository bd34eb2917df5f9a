"""The harness's own logic: cache keys, corrupted caches, the Arm cpuinfo, refusing politely."""

import shutil
import subprocess
import sys
from pathlib import Path

import emulation
import harness
import pytest
import rootfs

REPO = Path(__file__).resolve().parents[2]


def needs_zstd(test):
    """Skipped where zstd is missing, an error under CI (make test installs it)."""
    return pytest.mark.real_component("zstd")(pytest.mark.skipif(
        shutil.which("zstd") is None, reason="zstd is not installed (apt-get install zstd)")(test))


def test_cache_key_follows_what_the_root_contains():
    spec = rootfs.spec_for(REPO / "pyproject.toml")
    assert spec.key() == rootfs.spec_for(REPO / "pyproject.toml").key()
    assert "numpy<2" in spec.venvs["tflite-runtime"]
    assert any(r.startswith("ai-edge-litert") for r in spec.venvs["litert"])
    assert not any(r.startswith("tensorflow") for reqs in spec.venvs.values() for r in reqs)
    changed = [
        rootfs.RootSpec(**{**spec.__dict__, "packages": spec.packages + ("vim",)}),
        rootfs.RootSpec(**{**spec.__dict__, "release": "trixie"}),
        rootfs.RootSpec(**{**spec.__dict__, "venvs": {**spec.venvs, "litert": ("numpy",)}}),
    ]
    assert len({spec.key(), *(other.key() for other in changed)}) == 4


def fake_build(spec, staging, log=print):
    """Stands in for debootstrap (minutes, network): writes a root with one marker file."""
    (staging / "etc").mkdir(parents=True)
    (staging / "etc" / "marker").write_text(spec.key())


@needs_zstd
def test_corrupted_cache_is_detected_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(rootfs, "build", fake_build)
    spec, cache, root = rootfs.RootSpec(), tmp_path / "cache", tmp_path / "work" / "root"
    assert rootfs.restore_or_build(spec, cache, root).startswith("built")
    tarball = rootfs.tarball_path(cache, spec)
    assert rootfs.cached_tarball_ok(tarball) == (True, "")
    assert rootfs.restore_or_build(spec, cache, root).startswith("restored")
    assert (root / "etc" / "marker").read_text() == spec.key()

    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tarball.write_bytes(bytes(data))
    assert rootfs.cached_tarball_ok(tarball) == (False, "checksum mismatch (corrupted cache)")
    how = rootfs.restore_or_build(spec, cache, root)
    assert how.startswith("built") and "corrupted" in how
    assert rootfs.cached_tarball_ok(tarball) == (True, "")

    tarball.with_name(tarball.name + ".sha256").unlink()
    assert rootfs.cached_tarball_ok(tarball)[0] is False
    assert rootfs.restore_or_build(spec, cache, root).startswith("built")


@needs_zstd
def test_only_recent_roots_are_kept_per_release(tmp_path, monkeypatch):
    monkeypatch.setattr(rootfs, "build", fake_build)
    cache = tmp_path / "cache"
    rootfs.restore_or_build(rootfs.RootSpec(release="trixie"), cache, tmp_path / "root")
    for package in ("a", "b", "c"):
        rootfs.restore_or_build(rootfs.RootSpec(packages=(package,)), cache, tmp_path / "root")
    assert len(list(cache.glob("rootfs-bookworm-*.tar.zst"))) == rootfs.KEEP_TARBALLS
    assert len(list(cache.glob("rootfs-bookworm-*.sha256"))) == rootfs.KEEP_TARBALLS
    assert rootfs.cached_tarball_ok(rootfs.tarball_path(cache, rootfs.RootSpec(release="trixie")))[0]


def test_cpuinfo_names_the_pi_core_and_its_features():
    assert emulation.hwcap_names(0b11 | 1 << 20) == ["fp", "asimd", "asimddp"]
    text = emulation.render_cpuinfo(emulation.PI_CPUS["cortex-a76"], ["fp", "asimd"], 2)
    assert text.count("processor\t:") == 2
    assert "CPU part\t: 0xd0b" in text and "CPU implementer\t: 0x41" in text
    assert "Features\t: fp asimd\n" in text and "Raspberry Pi 5" in text
    assert "CPU part\t: 0xd08" in emulation.render_cpuinfo(emulation.PI_CPUS["cortex-a72"], [], 1)


def test_chroot_command_mounts_privately_and_read_only(tmp_path):
    root, stage, cpuinfo = tmp_path / "root", tmp_path / "stage", tmp_path / "cpuinfo"
    stage.mkdir()
    cpuinfo.write_text("")
    command = emulation.chroot_command(root, ["python3", "-V"], {"QEMU_CPU": "cortex-a72"},
                                       [emulation.Mount(stage, "/mnt/x")], cpuinfo=cpuinfo)
    assert command[:4] == ["unshare", "--mount", "--propagation", "private"]
    script = command[-1]
    assert f"mount --bind {cpuinfo} {root}/proc/cpuinfo" in script
    assert f"mount -o remount,bind,ro {root}/mnt/x" in script
    assert "QEMU_CPU=cortex-a72" in script and script.endswith("exec python3 -V'")
    assert "export QEMU_CPU=cortex-a72\nexec chroot" in script
    assert (root / "mnt" / "x").is_dir()


def test_pip_config_paths_are_mounted_once(monkeypatch, tmp_path):
    wheels = tmp_path / "wheels"
    (wheels / "sub").mkdir(parents=True)
    monkeypatch.setenv("PIP_FIND_LINKS", f"{wheels} file://{wheels / 'sub'}")
    mounts, env = rootfs.pip_host_mounts()
    sources = [m.source for m in mounts]
    assert wheels in sources and wheels / "sub" not in sources
    assert env["PIP_FIND_LINKS"].startswith(str(wheels))


def test_not_root_is_one_line_and_the_documented_exit_code(monkeypatch, capsys):
    monkeypatch.setattr(emulation.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", ["harness.py"])
    assert harness.main() == emulation.EXIT_CANNOT_EMULATE == 8
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "needs root" in error


def test_missing_binfmt_support_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(emulation.os, "geteuid", lambda: 0)
    monkeypatch.setattr(emulation, "_missing_tools", lambda: [])
    monkeypatch.setattr(emulation, "BINFMT_DIR", tmp_path / "binfmt_misc")
    monkeypatch.setattr(emulation.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 32, "", "mount failed"))
    with pytest.raises(emulation.CannotEmulate, match="binfmt_misc is not available"):
        emulation.preflight(["cortex-a72"])


def test_missing_tools_name_the_packages(monkeypatch):
    monkeypatch.setattr(emulation.os, "geteuid", lambda: 0)
    monkeypatch.setattr(emulation.shutil, "which", lambda tool: None)
    with pytest.raises(emulation.CannotEmulate, match="apt-get install .*qemu-user-static"):
        emulation.preflight(["cortex-a72"])


def test_trixie_root_has_its_own_packages_and_only_the_litert_venv():
    bookworm, trixie = (rootfs.spec_for(REPO / "pyproject.toml", name) for name in ("bookworm", "trixie"))
    assert (trixie.release, list(trixie.venvs)) == ("trixie", ["litert"])
    assert "libglib2.0-0t64" in trixie.packages and "libglib2.0-0" in bookworm.packages
    assert {"tflite-runtime>=2.13", "numpy<2"} <= set(bookworm.venvs["tflite-runtime"])
    assert not any(";" in r for spec in (bookworm, trixie) for reqs in spec.venvs.values() for r in reqs)
    assert rootfs.for_python("numpy<2; python_version < '3.12'", "3.13") is None
    assert rootfs.for_python("numpy<2; python_version < '3.12'", "3.11") == "numpy<2"


def test_unknown_os_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["harness.py", "--oses", "buster"])
    with pytest.raises(SystemExit) as raised:
        harness.main()
    assert raised.value.code == 2 and "--oses: buster is unknown" in capsys.readouterr().err


@needs_zstd
def test_both_releases_roots_are_prepared_side_by_side(tmp_path, monkeypatch):
    monkeypatch.setattr(rootfs, "build", fake_build)
    monkeypatch.setattr(harness, "install_interpreter_if_needed", lambda root: None)
    roots = harness.prepare_roots(["bookworm", "trixie"], tmp_path / "cache", tmp_path / "work")
    assert [root.name for root in roots.values()] == ["root-bookworm", "root-trixie"]
    for release, root in roots.items():
        key = rootfs.spec_for(REPO / "pyproject.toml", release).key()
        assert (root / "etc" / "marker").read_text() == key
        assert rootfs.cached_tarball_ok(rootfs.tarball_path(tmp_path / "cache", rootfs.spec_for(
            REPO / "pyproject.toml", release)))[0]


def test_the_stage_carries_every_tests_module_the_device_suites_import():
    """A module in tests/ imported by tests/edge or tests/device must travel to the guest."""
    import re

    repo = Path(harness.__file__).resolve().parents[2]
    helpers = {p.stem for p in (repo / "tests").glob("*.py") if not p.name.startswith("test_")}
    imported = set()
    for suite in harness.DEVICE_SUITE:
        for path in (repo / suite).rglob("*.py"):
            imported |= set(re.findall(r"^\s*(?:from|import) (\w+)", path.read_text(), re.MULTILINE))
    needed = {f"{name}.py" for name in helpers & imported}
    assert needed <= set(harness.SUITE_HELPERS), needed - set(harness.SUITE_HELPERS)

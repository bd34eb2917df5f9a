"""`tfedge deploy` against a real OpenSSH server on a loopback port, with a real `tfedge run`
watching the deployed path on "the device" side."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live_run import LiveRun
from sshd_server import HOST_ALIAS, SSHD, SshServer

from tfedge.edge.card import embed_card, read_embedded_card, strip_embedded
from tfedge.edge.deploy.install import run_script
from tfedge.edge.deploy.remote_scripts import DEPLOY, remote_command
from tfedge.edge.deploy.ssh import SshOptions, parse_target
from tfedge.errors import RemoteError, UsageError
from tfedge.main import main

TFEDGE = str(Path(sys.executable).with_name("tfedge"))  # the device's own tfedge command

pytestmark = [pytest.mark.real_component("sshd"),
              pytest.mark.skipif(SSHD is None, reason="openssh-server is not installed "
                                                      "(apt-get install openssh-server)")]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


def deploy(sshd, *args, config=None):
    return main(["deploy", *args, "--ssh-config", str(config or sshd.ssh_config), "--remote-tfedge", TFEDGE])


def snapshot(folder: Path) -> dict:
    """Every file in `folder` (hidden temp files included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_targets_parse():
    target = parse_target("pi@raspberrypi.local:models/m.tflite")
    assert (target.destination, target.path) == ("pi@raspberrypi.local", "models/m.tflite")
    target = parse_target("pi@[fe80::1]:m.tflite")
    assert (target.destination, target.path, target.host) == ("pi@fe80::1", "m.tflite", "fe80::1")
    assert parse_target("device").path == "model.tflite"
    for bad in ("", "pi@", "host:dir/", "a b"):
        with pytest.raises(UsageError):
            parse_target(bad)


def test_deploy_to_a_running_device_and_roll_back(sshd, tflite_models, slow_video, tmp_path, free_port,
                                                  capsys):
    first, second = tflite_models["float32"].read_bytes(), tflite_models["int8"].read_bytes()
    device = tmp_path / "device"
    device.mkdir()
    path = device / "model.tflite"
    path.write_bytes(first)
    labels = read_embedded_card(first).labels
    run = LiveRun(path, "--source", str(slow_video), "--realtime", "--serve", str(free_port),
                  "--on", labels[0], "--snapshot-dir", str(tmp_path / "snapshots"))
    try:
        run.wait_for(lambda line: "frame" in line, what="a first result")
        url = f"http://127.0.0.1:{free_port}"
        assert deploy(sshd, str(tflite_models["int8"]), f"{HOST_ALIAS}:{path}", "--wait", url) == 0
        out = capsys.readouterr().out
        assert "transfer" in out and "ms of it the self-test itself" in out
        assert f"reports {sha(second)[:12]}" in out
        assert path.read_bytes() == second and (device / "model.tflite.previous").read_bytes() == first
        assert sorted(snapshot(device)) == ["model.tflite", "model.tflite.previous"]  # no temp file left
        change = run.event("model_change")
        assert change["event"]["sha256"] == sha(second)

        assert main(["deploy", "--rollback", f"{HOST_ALIAS}:{path}", "--ssh-config", str(sshd.ssh_config),
                     "--remote-tfedge", TFEDGE, "--wait", url]) == 0
        assert f"rolled back {HOST_ALIAS}:{path} to {sha(first)[:12]}" in capsys.readouterr().out
        assert path.read_bytes() == first and (device / "model.tflite.previous").read_bytes() == second
        back = run.event("model_change", after=change["frame"])
        assert back["event"]["sha256"] == sha(first) and back["model"] == sha(first)[:12]

        # the device's self-test passes, but the run needs a label this model lacks: --wait sees
        # the run refuse it and puts the model it replaced back
        relabelled = tmp_path / "relabelled.tflite"
        relabelled.write_bytes(embed_card(second, read_embedded_card(second).replace(
            labels=[f"x{i}" for i in range(len(labels))])))
        assert deploy(sshd, str(relabelled), f"{HOST_ALIAS}:{path}", "--wait", url) == 9
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"refused it: it lacks the label {labels[0]!r}" in err[0], err
        assert path.read_bytes() == first and run.results()[-1]["model"] == sha(first)[:12]
    finally:
        run.stop()


def test_bad_models_and_paths_leave_the_device_as_it_was(sshd, tflite_models, tmp_path, capsys):
    content = tflite_models["int8"].read_bytes()
    device = tmp_path / "device"
    (device / "folder.tflite").mkdir(parents=True)
    path = device / "model.tflite"
    path.write_bytes(content)
    before = snapshot(device)
    card = read_embedded_card(content)
    altered = tmp_path / "altered.tflite"
    altered.write_bytes(embed_card(content, card.replace(self_test=dict(
        card.self_test, scores=[list(reversed(s)) for s in card.self_test["scores"]]))))
    not_a_model = tmp_path / "notes.tflite"
    not_a_model.write_text("not a model\n" * 100)
    cases = [
        ([str(altered), f"{HOST_ALIAS}:{path}"], 7, "self-test failed"),
        ([str(not_a_model), f"{HOST_ALIAS}:{path}"], 4, "not a valid .tflite"),
        ([str(tflite_models["int8"]), f"{HOST_ALIAS}:{device / 'folder.tflite'}"], 5, "is a folder"),
        ([str(tflite_models["int8"]), f"{HOST_ALIAS}:{device / 'no' / 'm.tflite'}"], 5, "does not exist"),
        ([str(tflite_models["int8"]), f"nosuchhost.invalid:{path}"], 9, "unknown host"),
        (["--rollback", f"{HOST_ALIAS}:{path}"], 4, "nothing to roll back to"),
    ]
    for args, code, words in cases:
        assert deploy(sshd, *args) == code, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], (args, err)
        assert snapshot(device) == before, args
    assert deploy(sshd, str(tflite_models["int8"]), f"{HOST_ALIAS}:{path}",
                  config=sshd.client_config("stranger_key")) == 9
    assert "refused the key" in capsys.readouterr().err
    assert snapshot(device) == before


def test_a_foreign_model_is_deployed_with_a_warning(sshd, tflite_models, tmp_path, capsys):
    foreign = tmp_path / "zoo.tflite"
    foreign.write_bytes(strip_embedded(tflite_models["int8"].read_bytes()))
    device = tmp_path / "device"
    device.mkdir()
    assert deploy(sshd, str(foreign), f"{HOST_ALIAS}:{device / 'zoo.tflite'}") == 0
    assert "carries no self-test" in capsys.readouterr().err
    assert (device / "zoo.tflite").read_bytes() == foreign.read_bytes()


def test_a_wrong_sha_or_a_transfer_cut_half_way_leaves_nothing(sshd, tflite_models, tmp_path):
    content = tflite_models["int8"].read_bytes()
    device = tmp_path / "device"
    device.mkdir()
    target = parse_target(f"{HOST_ALIAS}:{device / 'model.tflite'}")
    ssh = SshOptions(config=str(sshd.ssh_config))
    with pytest.raises(RemoteError, match="sha256 on the device is"):
        run_script(target, ssh, DEPLOY, [target.path, str(len(content)), "0" * 64, TFEDGE], payload=content)
    assert snapshot(device) == {}
    # the connection dies after half the bytes: the device removes what arrived
    process = subprocess.Popen(ssh.command(target, remote_command(
        DEPLOY, target.path, str(len(content)), sha(content), TFEDGE)), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(content[: len(content) // 2])
    process.stdin.flush()
    deadline = time.monotonic() + 10
    while not any(device.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(device.iterdir())  # the half-way temp file is there ...
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    deadline = time.monotonic() + 10
    while any(device.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert snapshot(device) == {}  # ... and gone once the device sees the connection end


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny filesystem needs root")
def test_a_full_disk_is_refused_and_the_old_model_stays(sshd, tflite_models, tmp_path, capsys):
    small, large = tflite_models["int8"].read_bytes(), tflite_models["float32"].read_bytes()
    device = tmp_path / "tiny"
    device.mkdir()
    size_kib = (len(small) + len(large) // 2) // 1024 + 8  # room for the small model, not both
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(device)], check=True)
    try:
        (device / "model.tflite").write_bytes(small)
        before = snapshot(device)
        assert deploy(sshd, str(tflite_models["float32"]), f"{HOST_ALIAS}:{device / 'model.tflite'}") == 5
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "free space on the device" in err[0], err
        assert snapshot(device) == before
    finally:
        subprocess.run(["umount", str(device)], check=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only filesystem needs root")
def test_a_folder_the_user_cannot_write_is_refused(sshd, tflite_models, tmp_path, capsys):
    device = tmp_path / "readonly"
    device.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(device)], check=True)
    try:
        assert deploy(sshd, str(tflite_models["int8"]), f"{HOST_ALIAS}:{device / 'model.tflite'}") == 5
        assert "is not writable by" in capsys.readouterr().err
    finally:
        subprocess.run(["umount", str(device)], check=True)

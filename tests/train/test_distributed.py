"""The distributed code paths, for real: two logical CPU devices (mirrored) and two worker
processes on 127.0.0.1 (multi-worker), each reaching the accuracy class of the one-device run
on the same data and settings (the session's `trained_run`)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

from tfedge.run_layout import CONFIG_FILE, METRICS_FILE

SAME_CLASS = 0.15  # accuracy within 15 points of the one-device run: 120 images, 3 epochs


def same_settings(trained_run) -> list[str]:
    hparams = json.loads((trained_run / CONFIG_FILE).read_text())["hparams"]
    return ["--epochs", str(hparams["epochs"]), "--batch-size", str(hparams["batch_size"])]


def single_device_accuracy(trained_run) -> float:
    return json.loads((trained_run / METRICS_FILE).read_text())["val_accuracy"]


def test_mirrored_strategy_on_two_logical_cpus(fashion_dir, trained_run, tmp_path):
    out = tmp_path / "mirrored"
    # logical devices must be set before TensorFlow initialises, so in a fresh process
    script = textwrap.dedent(f"""
        import sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from tfedge.main import main
        sys.exit(main(["train", {str(fashion_dir / "train")!r}, "--out", {str(out)!r},
                       "--strategy", "mirrored", *{same_settings(trained_run)!r}]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    placement = json.loads((out / CONFIG_FILE).read_text())["placement"]
    assert placement["strategy"] == "mirrored" and placement["replicas"] == 2
    accuracy = json.loads((out / METRICS_FILE).read_text())["val_accuracy"]
    assert abs(accuracy - single_device_accuracy(trained_run)) <= SAME_CLASS


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_strategy_with_two_processes_from_tf_config(fashion_dir, trained_run, tmp_path):
    out = tmp_path / "runs" / "multi"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}}))
        command = [sys.executable, "-m", "tfedge", "train", str(fashion_dir / "train"), "--out", str(out),
                   *same_settings(trained_run)]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    results = []
    try:
        for process in processes:
            results.append(process.communicate(timeout=600))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_, stderr) in zip(processes, results):
        assert process.returncode == 0, stderr[-2000:]
    assert "run written to" in results[0][0] and "run written to" not in results[1][0]  # chief only
    placement = json.loads((out / CONFIG_FILE).read_text())["placement"]
    assert placement["strategy"] == "multi-worker" and placement["replicas"] == 2
    accuracy = json.loads((out / METRICS_FILE).read_text())["val_accuracy"]
    assert abs(accuracy - single_device_accuracy(trained_run)) <= SAME_CLASS
    assert sorted(p.name for p in out.parent.iterdir()) == ["multi"]

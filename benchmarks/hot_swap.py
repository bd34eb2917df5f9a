"""Hot swap and deploy goals (issue 13), measured on one live `tfedge run`.

One `tfedge run` plays a video at real-time speed (--realtime) with --serve and --mqtt on (a real
mosquitto), watching a model path on a small tmpfs (the "device"); a real sshd on loopback
takes `tfedge deploy`. The script then:

1. swaps two models (float32 and int8 of one Fashion-MNIST run) --swaps times, each by an
   atomic rename onto the path (deploy's last step): crashes, lost frames (gaps in the frame
   numbers), the largest gap between two results against the median frame interval, RSS after
   the first and the last swap;
2. injects each fault --repeats times, through `tfedge deploy` (truncated file, wrong sha,
   non-TFLite, altered self-test, transfer killed half-way, disk full) and straight onto the
   path (truncated, non-TFLite, altered self-test, other labels while --on names one it lacks,
   an input larger than the frames): refused each time, the old model still running, one line;
3. times `tfedge deploy --wait` to the loopback sshd: transfer, self-test, rename, swap;
4. baseline, side by side: what users do without hot swap (stop `tfedge run`, start it again on
   the new file, as `systemctl restart` does): the gap between the last result of the old model
   and the first of the new one.

Needs root (mount), TensorFlow (to train the two models once, cached in benchmarks/.cache),
Debian's dataset-fashion-mnist, mosquitto and openssh-server. Run:
    .venv/bin/python benchmarks/hot_swap.py [--swaps 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "edge")]

from edge_common import machine_note  # noqa: E402
from edge_models import CACHE, textured_video  # noqa: E402
from live_run import LiveRun  # noqa: E402
from sink_helpers import free_port  # noqa: E402
from sshd_server import HOST_ALIAS, SshServer  # noqa: E402

TFEDGE = [sys.executable, "-m", "tfedge"]
REMOTE_TFEDGE = str(Path(sys.executable).with_name("tfedge"))


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def build_models() -> dict[str, Path]:
    """float32 and int8 at 28x28 and an int8 at 64x64, trained once on Fashion-MNIST (cached)."""
    folder = CACHE / "hot_swap"
    wanted = {"a": folder / "small" / "model_float32.tflite", "b": folder / "small" / "model_int8.tflite",
              "large": folder / "large" / "model_int8.tflite"}
    if all(path.exists() for path in wanted.values()):
        return wanted
    data = folder / "fashion"
    if not data.exists():
        subprocess.run([*TFEDGE, "data", "fashion-mnist", str(data), "--limit-per-class", "40"], check=True)
    for name, size, modes in (("small", 28, ["float32", "int8"]), ("large", 64, ["int8"])):
        run = folder / name
        if not (run / "card.json").exists():
            subprocess.run([*TFEDGE, "train", str(data / "train"), "--out", str(run), "--epochs", "2",
                            "--image-size", str(size), "--overwrite"], check=True)
        subprocess.run([*TFEDGE, "convert", str(run), "--quant", *modes, "--max-drop", "100"], check=True)
    return wanted


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def install(content: bytes, path: Path) -> None:
    """The way deploy's last step puts a file in place: a temp name beside it, then a rename."""
    temp = path.with_name(f".{path.name}.bench")
    temp.write_bytes(content)
    os.replace(temp, path)


def deploy(model: Path, path: Path, ssh_config: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TFEDGE, "deploy", str(model), f"{HOST_ALIAS}:{path}", "--ssh-config",
                           str(ssh_config), "--remote-tfedge", REMOTE_TFEDGE, *extra],
                          capture_output=True, text=True, timeout=300)


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    from test_mqtt import Broker  # tests/edge/test_mqtt.py: a real mosquitto on a free port

    broker = Broker(folder)
    return broker, broker.port


class Heartbeats:
    """MQTT heartbeats and events as a real client sees them."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as paho

        self.messages: list[tuple[str, dict | str]] = []
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, message: self.messages.append(
            (message.topic, json.loads(message.payload) if message.payload[:1] == b"{" else
             message.payload.decode()))
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{topic}/#")
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=100, help="model swaps in the live run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="times each fault is injected (default 3)")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("hot_swap.py needs root (it mounts a small tmpfs as the device's disk)", file=sys.stderr)
        return 8
    models = build_models()
    first, second = models["a"].read_bytes(), models["b"].read_bytes()
    labels = json.loads((models["a"].parent / "card.json").read_text())["labels"]
    frames_needed = int((options.swaps * 2.5 + options.repeats * 40 + 120) * 30)
    video = textured_video(48, 36, frames=frames_needed)
    work = Path(tempfile.mkdtemp(prefix="tfedge-hot-swap-"))
    device = work / "device"
    device.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(device)], check=True)
    sshd = SshServer(work / "sshd")
    broker, mqtt_port = start_broker(work / "mqtt")
    heartbeats = Heartbeats(mqtt_port, "bench")
    path = device / "model.tflite"
    install(first, path)
    web_port = free_port()
    url = f"http://127.0.0.1:{web_port}"
    run = LiveRun(path, "--source", str(video), "--realtime", "--serve", str(web_port),
                  "--mqtt", f"mqtt://127.0.0.1:{mqtt_port}/bench", "--mqtt-heartbeat", "1",
                  "--on", labels[0], "--snapshot-dir", str(work / "snapshots"), "--cooldown", "5")
    try:
        run.wait_for(lambda line: "frame" in line, what="a first result", timeout=120)
        # 1. swaps
        started, rss, last, switches = time.perf_counter(), [], 0, []
        current = sha(first)
        for i in range(options.swaps):
            content = second if i % 2 == 0 else first
            install(content, path)
            change = run.event("model_change", after=last, timeout=60)
            assert change["event"]["sha256"] == sha(content)
            current, last = sha(content), change["frame"]
            switches.append(change)
            if i in (0, 1, options.swaps - 2, options.swaps - 1):
                time.sleep(1.5)  # the watcher frees the replaced model at its next look
                rss.append(rss_mb(run.process.pid))
        swap_seconds = time.perf_counter() - started
        # 2. faults
        card_module = __import__("tfedge.edge.card", fromlist=["embed_card"])
        running = path.read_bytes()
        card = card_module.read_embedded_card(running)
        altered = card_module.embed_card(running, card.replace(self_test=dict(
            card.self_test, scores=[list(reversed(s)) for s in card.self_test["scores"]])))
        renamed = [f"x{i}" for i in range(len(labels))]
        other_labels = card_module.embed_card(running, card.replace(labels=renamed))
        files = {"truncated": running[: len(running) // 2], "non-TFLite": b"\x7fELF" + os.urandom(4096),
                 "altered self-test": altered, "other labels (--on names a missing one)": other_labels,
                 "input larger than the frames": models["large"].read_bytes()}
        faults: dict[str, list[bool]] = {}
        lines: dict[str, str] = {}

        def still_running(after: int) -> bool:
            line = run.wait_for(lambda r: "frame" in r and r["frame"] > after, what="a result")
            return line["model"] == current[:12] and path.exists()

        for _ in range(options.repeats):
            for name, content in files.items():  # straight onto the path: the run refuses it
                install(content, path)
                rejected = run.event("model_rejected", after=last, timeout=30)
                last = rejected["frame"]
                ok = rejected["model"] == current[:12] and still_running(last)
                faults.setdefault(f"on the path: {name}", []).append(ok)
                lines[f"on the path: {name}"] = rejected["event"]["reason"]
            install(first if current == sha(first) else second, path)  # the running model's file back
            time.sleep(1.5)
            for name in ("truncated", "non-TFLite", "altered self-test"):  # deploy refuses it
                bad = work / "bad.tflite"
                bad.write_bytes(files[name])
                before = sorted(p.name for p in device.iterdir())
                result = deploy(bad, path, sshd.ssh_config)
                ok = (result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
                      and sorted(p.name for p in device.iterdir()) == before and still_running(last))
                faults.setdefault(f"deploy: {name}", []).append(ok)
                lines[f"deploy: {name}"] = result.stderr.strip()
            faults.setdefault("deploy: wrong sha", []).append(wrong_sha(sshd, path, second, device))
            faults.setdefault("deploy: transfer killed half-way", []).append(
                killed(sshd, path, second, device))
            filler = device / "filler"
            free = os.statvfs(device).f_bavail * os.statvfs(device).f_frsize
            filler.write_bytes(b"\0" * max(0, free - 64 * 1024))
            before = sorted(p.name for p in device.iterdir())
            result = deploy(models["b"], path, sshd.ssh_config)
            ok = result.returncode == 5 and sorted(p.name for p in device.iterdir()) == before
            filler.unlink()
            faults.setdefault("deploy: device disk full", []).append(ok and still_running(last))
            lines["deploy: device disk full"] = result.stderr.strip()
        # 3. deploy timing
        timings = []
        for _ in range(3):
            target = models["a"] if current == sha(second) else models["b"]
            began = time.perf_counter()
            result = deploy(target, path, sshd.ssh_config, "--wait", url)
            total = time.perf_counter() - began
            if result.returncode != 0:
                raise RuntimeError(result.stderr)
            timings.append((total, result.stdout.strip()))
            current = sha(target.read_bytes())
        status = json.loads(urllib.request.urlopen(f"{url}/api/status", timeout=5).read())
    finally:
        summary = run.stop()
        heartbeats.close()
        broker.stop()
        sshd.stop()
        subprocess.run(["umount", str(device)], check=False)
    # 4. baseline: restart on the new file
    restart_gaps = [restart_gap(models, video) for _ in range(3)]

    results = run.results()
    stamps = [r["timestamp"] for r in results]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    median = statistics.median(intervals)
    numbers = [r["frame"] for r in results]
    lost = sum(b - a - 1 for a, b in zip(numbers, numbers[1:]))
    index = {id(r): i for i, r in enumerate(results)}
    switch_gaps = [r["timestamp"] - results[index[id(r)] - 1]["timestamp"] for r in switches]
    switch_lost = sum(r["frame"] - results[index[id(r)] - 1]["frame"] - 1 for r in switches)
    near = {index[id(r)] + k for r in switches for k in range(-30, 31)}  # a second either side
    elsewhere = [b - a for i, (a, b) in enumerate(zip(stamps, stamps[1:])) if i + 1 not in near]
    lost_elsewhere = sum(b - a - 1 for i, (a, b) in enumerate(zip(numbers, numbers[1:])) if i + 1 not in near)
    lost_near = lost - lost_elsewhere
    beats = [m for topic, m in heartbeats.messages if topic.endswith("/heartbeat")]
    print(f"hot swap, {options.swaps} swaps in {swap_seconds:.0f} s during one --realtime run "
          f"(--serve, --mqtt on); {machine_note()}")
    print(f"  crashes: {0 if run.process.returncode == 0 else 1} (exit code {run.process.returncode}); "
          f"results {len(results)}, summary frames {summary.get('frames')}")
    print(f"  lost frames: {switch_lost} at the {len(switches)} switches (the switch frame), "
          f"{lost_near} within "
          f"a second of one ({len(near & set(range(len(results))))} results), {lost_elsewhere} elsewhere "
          f"({len(elsewhere)} results); summary dropped_frames {summary.get('dropped_frames')}")
    print(f"  largest gap at a switch {max(switch_gaps) * 1000:.1f} ms = "
          f"{max(switch_gaps) / median:.2f}x the "
          f"median frame interval ({median * 1000:.1f} ms); {sum(g <= 2 * median for g in switch_gaps)} of "
          f"{len(switch_gaps)} switch gaps within 2x; away from switches: largest "
          f"{max(elsewhere) / median:.2f}x, "
          f"{sum(g > 2 * median for g in elsewhere)} of {len(elsewhere)} gaps over 2x")
    print(f"  RSS after swap 1: {rss[0]:.1f} MB, after swap {options.swaps}: {rss[-1]:.1f} MB "
          f"(difference {rss[-1] - rss[0]:+.1f} MB; the two models alternate, so also: swap 1 vs "
          f"{options.swaps - 1}, same model: {rss[-2] - rss[0]:+.1f} MB; swap 2 vs {options.swaps}, "
          f"same model: {rss[-1] - rss[1]:+.1f} MB)")
    print(f"  web view /api/status model_sha at the end: {status.get('model_sha')} (running {current[:12]}); "
          f"MQTT heartbeats {len(beats)}, with model_sha: {sum(1 for b in beats if b.get('model_sha'))}, "
          f"distinct model_sha seen {len({b.get('model_sha') for b in beats})}")
    print(f"baseline, restart on the new file (stop tfedge run, start it again, as systemctl restart does): "
          f"gap {statistics.median(restart_gaps):.2f} s median of {len(restart_gaps)}; hot swap's largest "
          f"switch gap is {max(switch_gaps) / statistics.median(restart_gaps):.4f}x that")
    print(f"faults, each {options.repeats} times:")
    for name, outcomes in faults.items():
        said = lines.get(name, "")
        print(f"  {name:46s} refused, old model running: {sum(outcomes)}/{len(outcomes)}"
              + (f"  | {said[:150]}" if said else ""))
    print("tfedge deploy --wait to the loopback sshd (command to the first result of the new model):")
    for total, said in timings:
        print(f"  {total:.2f} s in all: {said.splitlines()[0].split(': ', 1)[1]}")
        print(f"    {said.splitlines()[-1]}")
    return 0


def wrong_sha(sshd: SshServer, path: Path, content: bytes, device: Path) -> bool:
    from tfedge.edge.deploy.install import run_script
    from tfedge.edge.deploy.remote_scripts import DEPLOY
    from tfedge.edge.deploy.ssh import SshOptions, parse_target
    from tfedge.errors import RemoteError

    before = sorted(p.name for p in device.iterdir())
    target = parse_target(f"{HOST_ALIAS}:{path}")
    try:
        run_script(target, SshOptions(config=str(sshd.ssh_config)), DEPLOY,
                   [target.path, str(len(content)), "0" * 64, REMOTE_TFEDGE], payload=content)
    except RemoteError as error:
        return "sha256 on the device is" in str(error) and sorted(p.name for p in device.iterdir()) == before
    return False


def killed(sshd: SshServer, path: Path, content: bytes, device: Path) -> bool:
    from tfedge.edge.deploy.remote_scripts import DEPLOY, remote_command
    from tfedge.edge.deploy.ssh import SshOptions, parse_target

    before = sorted(p.name for p in device.iterdir())
    target = parse_target(f"{HOST_ALIAS}:{path}")
    process = subprocess.Popen(SshOptions(config=str(sshd.ssh_config)).command(target, remote_command(
        DEPLOY, target.path, str(len(content)), sha(content), REMOTE_TFEDGE)), stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.stdin.write(content[: len(content) // 2])
    process.stdin.flush()
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while sorted(p.name for p in device.iterdir()) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(p.name for p in device.iterdir()) == before


def restart_gap(models: dict[str, Path], video: Path) -> float:
    """Seconds between the old run's last result and the new run's first, restarting on the new file."""
    old = LiveRun(models["a"], "--source", str(video), "--realtime")
    old.wait_for(lambda line: "frame" in line, what="a first result", timeout=120)
    time.sleep(1.0)
    old.stop()
    last = old.results()[-1]["timestamp"]
    new = LiveRun(models["b"], "--source", str(video), "--realtime")
    first = new.wait_for(lambda line: "frame" in line, what="a first result", timeout=120)
    new.stop()
    return first["timestamp"] - last


if __name__ == "__main__":
    sys.exit(main())

"""`tfedge service` unit text and install; `tfedge bench` rows on real interpreters."""

import json
import shlex

import pytest

from tfedge.edge.live.service import ServiceSettings, systemd_quote, unit_text
from tfedge.main import main


def exec_start_words(text):
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    # systemd's rules for these quotes match the shell's; %% and $$ are its own escapes
    return shlex.split(line[len("ExecStart="):].replace("%%", "%").replace("$$", "$"))


def test_unit_starts_at_boot_restarts_on_failure_and_quotes_words():
    command = ["/home/pi/venv/bin/tfedge", "run", "/home/pi/my model.tflite", "--source", "0",
               "--exec", 'say "$TFEDGE_LABEL" at 100%']
    text = unit_text(ServiceSettings(command, name="doorcam", user="pi", working_dir="/home/pi"))
    assert "Restart=on-failure" in text and "WantedBy=multi-user.target" in text
    assert "User=pi" in text and "SupplementaryGroups=video" in text
    assert "WorkingDirectory=/home/pi" in text and "KillSignal=SIGTERM" in text
    assert exec_start_words(text) == command
    assert "$$TFEDGE_LABEL" in text and "100%%" in text


def test_quote_leaves_plain_words_alone():
    assert systemd_quote("--threads") == "--threads"
    assert systemd_quote("a b") == '"a b"'


def test_service_prints_the_unit_with_run_options_and_log_commands(capsys, tflite_models, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["service", "--name", "cam1", str(tflite_models["int8"]), "--source", "clip.mp4",
                 "--threads", "2", "--on", "Bag", "--snapshot-dir", "snaps"])
    out = capsys.readouterr().out
    assert code == 0
    words = exec_start_words(out)
    assert words[1:] == ["run", str(tflite_models["int8"].absolute()), "--source", str(tmp_path / "clip.mp4"),
                         "--headless", "--threads", "2", "--on", "Bag", "--snapshot-dir", "snaps"]
    assert words[0].endswith("tfedge") or words[1:3] == ["-m", "tfedge"]
    assert "journalctl -u cam1.service -f" in out and "systemctl enable --now cam1.service" in out


@pytest.mark.parametrize("spec, is_path", [("0", False), ("picamera2", False), ("picamera2:1", False),
                                           ("rtsp://cam/live", False), ("http://cam:8080/v", False),
                                           ("frames", True), ("picamera2.mp4", True)])
def test_service_keeps_cameras_and_urls_and_makes_only_paths_absolute(capsys, tmp_path, monkeypatch,
                                                                      spec, is_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"")  # `tfedge service` writes the unit; it does not load the model
    (tmp_path / "frames").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["service", str(model), "--source", spec]) == 0
    expected = str(tmp_path / spec) if is_path else spec
    assert exec_start_words(capsys.readouterr().out)[-3:] == ["--source", expected, "--headless"]


def test_service_checks_run_options_with_runs_own_parser(capsys, tflite_models):
    with pytest.raises(SystemExit) as caught:
        main(["service", str(tflite_models["int8"]), "--no-such-option"])
    assert caught.value.code == 2


def test_service_install_writes_atomically_and_keeps_an_existing_unit(capsys, tflite_models, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr("tfedge.edge.live.service.SYSTEM_UNIT_DIR", tmp_path)  # not /etc/systemd/system
    args = ["service", "--install", str(tflite_models["int8"]), "--source", "0"]
    assert main(args) == 0
    unit = tmp_path / "tfedge.service"
    assert "Restart=on-failure" in unit.read_text()
    assert "journalctl -u tfedge.service" in capsys.readouterr().err
    unit.write_text("[Unit]\nDescription=mine\n")
    code = main([*args[:-1], "1"])
    assert code == 5 and "--overwrite" in capsys.readouterr().err
    assert unit.read_text() == "[Unit]\nDescription=mine\n"
    assert main(["service", "--install", "--overwrite", str(tflite_models["int8"]), "--source", "1"]) == 0
    assert "--source 1" in unit.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["tfedge.service"]  # no temp file left


def test_bench_measures_each_backend_and_thread_count(capsys, tflite_models):
    from tfedge.edge.interpreter import available_backends

    code = main(["bench", str(tflite_models["int8"]), "--threads", "1", "2", "--runs", "20", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    expected = [(b.name, t) for b in available_backends() for t in (1, 2)]
    assert [(r["backend"], r["threads"]) for r in rows] == expected
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p95_ms"] and row["runs"] == 20 and row["invokes_per_s"] > 0


def test_bench_table_and_bad_threads(capsys, tflite_models):
    from tfedge.edge.interpreter import resolve_backend

    backend = resolve_backend("auto").name  # litert here; tflite-runtime in the older device venv
    assert main(["bench", str(tflite_models["int8"]), "--threads", "1", "--backends", backend,
                 "--runs", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["backend", "version", "threads"] and out[1].startswith(backend)
    assert main(["bench", str(tflite_models["int8"]), "--threads", "-3"]) == 2

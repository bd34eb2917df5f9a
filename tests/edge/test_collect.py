"""`tfedge run --collect DIR`: reasons, limits, quota, near-duplicates, the cap, a bad folder.

Real JPEGs on disk throughout; the last tests run the real `tfedge run` on the labelled video.
"""

import json
import time
import urllib.request

import cv2
import numpy as np
import pytest

from tfedge.edge.card import ModelCard
from tfedge.edge.collection import REASONS, CollectedFrame, read_collection
from tfedge.edge.collection_store import (
    CollectionStore,
    StoreLimits,
    audit_key,
    feature,
    hamming,
    signature,
)
from tfedge.edge.sinks.collect import CollectSettings, CollectSink
from tfedge.main import main

LABELS = ["a", "b", "c"]
CARD = ModelCard(labels=LABELS, input_size=(16, 16), color_order="GRAY")


def picture(seed: int, size: int = 32) -> np.ndarray:
    """A random blocky BGR image: each seed gives a clearly different dHash."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)


def result(frame: int, label: str = "a", margin: float = 0.05, stable: str | None = "a",
           event=None, timestamp: float | None = None) -> dict:
    return {"frame": frame, "timestamp": 1000.0 + frame if timestamp is None else timestamp,
            "label": label, "score": 0.5, "top_k": [[label, 0.5], ["b", 0.5 - margin]],
            "margin": margin, "stable_label": stable, "stable_score": 0.5, "event": event}


def offered(store: CollectionStore, index: int, label: str = "a", informativeness: float = 0.5,
            image: np.ndarray | None = None, timestamp: float | None = None) -> str:
    image = picture(index) if image is None else image
    frame = CollectedFrame(id=f"{1000 + index}-{index}", timestamp=1000.0 + index if timestamp is None
                           else timestamp, frame=index, label=label, score=0.5, top_k=[[label, 0.5]],
                           margin=1 - informativeness, stable_label=label, model_sha256="x",
                           labels=LABELS, reason="low_margin", informativeness=informativeness)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    return store.offer(frame, signature(image), lambda: (jpeg, jpeg))


def no_limits(**changes) -> StoreLimits:
    return StoreLimits(**{"per_minute": 0, "per_hour": 0, "class_quota": 0, **changes})


def test_signature_finds_near_duplicates_and_tells_others_apart():
    image = picture(1)
    brighter = cv2.convertScaleAbs(image, alpha=1.0, beta=12)
    assert hamming(signature(image), signature(brighter)) <= 4
    distances = [hamming(signature(picture(i)), signature(picture(j)))
                 for i in range(10) for j in range(i + 1, 10)]
    assert min(distances) > 4


def test_store_drops_near_duplicates_and_holds_the_class_quota(tmp_path):
    store = CollectionStore(tmp_path, no_limits(class_quota=2))
    store.open()
    assert offered(store, 1) == "kept"
    assert offered(store, 2, image=picture(1)) == "duplicate"
    assert offered(store, 3, informativeness=0.6) == "kept"
    assert offered(store, 4, informativeness=0.4) == "quota"  # less informative than both kept
    assert offered(store, 5, informativeness=0.9) == "kept"  # takes the least informative's place
    assert offered(store, 6, label="b") == "kept"
    frames, problems = read_collection(tmp_path)
    assert problems == []
    assert sorted(f.frame for f in frames) == [3, 5, 6]
    assert store.facts()["per_class"] == {"a": 2, "b": 1}


def test_store_rate_limits_by_frame_time(tmp_path):
    store = CollectionStore(tmp_path, no_limits(per_minute=2, per_hour=3))
    store.open()
    outcomes = [offered(store, i, timestamp=t) for i, t in enumerate([0, 1, 2, 61, 62, 3700])]
    assert outcomes == ["kept", "kept", "rate_limited", "kept", "rate_limited", "kept"]


def test_store_never_exceeds_its_cap_and_evicts_the_least_informative(tmp_path):
    one = len(cv2.imencode(".jpg", picture(0))[1]) * 2 + 600
    store = CollectionStore(tmp_path, no_limits(max_mb=3.5 * one / 1e6))
    store.open()
    for index, informativeness in enumerate([0.5, 0.9, 0.7, 0.2, 0.8]):
        offered(store, index, informativeness=informativeness)
        on_disk = sum(p.stat().st_size for p in tmp_path.iterdir())
        assert on_disk <= store.limits.max_mb * 1e6
    kept = sorted(f.informativeness for f in read_collection(tmp_path)[0])
    assert kept == [0.7, 0.8, 0.9]
    assert store.facts()["offered"]["full"] == 1 and store.evicted == 1


def test_store_max_frames_and_reopening_takes_in_what_is_there(tmp_path):
    store = CollectionStore(tmp_path, no_limits(max_frames=2))
    store.open()
    for index in range(4):
        offered(store, index, informativeness=0.1 * (index + 1))
    again = CollectionStore(tmp_path, no_limits(max_frames=2))
    assert again.open() == []
    assert sorted(again.kept) == ["1002-2", "1003-3"]
    assert offered(again, 9, image=picture(3)) == "duplicate"


def offered_as(store: CollectionStore, index: int, informativeness: float, reason: str = "low_margin",
               image: np.ndarray | None = None) -> str:
    """Like `offered`, with a reason and the spread's feature."""
    image = picture(index) if image is None else image
    frame = CollectedFrame(id=f"{1000 + index}-{index}", timestamp=1000.0 + index, frame=index,
                           label="a", score=0.5, top_k=[["a", 0.5]], margin=1 - informativeness,
                           stable_label="a", model_sha256="x", labels=LABELS, reason=reason,
                           informativeness=informativeness)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    return store.offer(frame, signature(image), lambda: (jpeg, jpeg), feature(image))


def test_feature_ignores_brightness_and_contrast_and_tells_pictures_apart():
    image = picture(1)
    other = cv2.convertScaleAbs(image, alpha=0.6, beta=60)
    assert np.linalg.norm(feature(image) - feature(other)) < 0.1
    assert np.linalg.norm(feature(picture(1)) - feature(picture(2))) > 0.5
    assert not feature(np.full((20, 20, 3), 128, np.uint8)).any()  # flat: zeros, no division by 0


def test_spread_drops_the_most_redundant_frame_not_the_least_informative(tmp_path):
    twin = cv2.GaussianBlur(picture(1), (3, 3), 0)  # near picture(1) in the feature
    for spread, expected in ((False, "full"), (True, "kept")):
        store = CollectionStore(tmp_path / str(spread), no_limits(max_frames=3, duplicate_bits=-1,
                                                                   spread=spread))
        store.open()
        assert offered_as(store, 1, 0.9) == "kept"
        assert offered_as(store, 2, 0.8, image=twin) == "kept"
        assert offered_as(store, 3, 0.7) == "kept"
        assert offered_as(store, 4, 0.1) == expected  # least informative, but far from all kept
        if spread:  # the less informative twin made room; another twin does not win a place
            assert sorted(store.kept) == ["1001-1", "1003-3", "1004-4"]
            assert offered_as(store, 5, 0.95, image=cv2.GaussianBlur(picture(3), (3, 3), 0)) == "full"


def test_audit_share_keeps_a_random_sample_of_audit_frames(tmp_path):
    for share in (0.0, 0.5):
        store = CollectionStore(tmp_path / str(share), no_limits(max_frames=4, audit_share=share))
        store.open()
        for index in range(4):
            assert offered_as(store, index, 0.9) == "kept"
        outcomes = [offered_as(store, index, 0.05, reason="audit") for index in range(10, 16)]
        audits = sorted(item.id for item in store.kept.values() if item.audit)
        if not share:  # audit frames are the least informative: none gets in
            assert outcomes == ["full"] * 6 and audits == []
            continue
        assert outcomes[:2] == ["kept", "kept"] and len(audits) == 2  # up to half of the 4
        ids = [f"{1000 + index}-{index}" for index in range(10, 16)]
        assert audits == sorted(sorted(ids, key=audit_key)[-2:])  # the highest keys of all seen
        assert offered_as(store, 20, 0.95) == "kept"  # an unsure frame takes an unsure one's place
        assert sum(item.audit for item in store.kept.values()) == 2


def sink_for(folder, **changes) -> CollectSink:
    settings = CollectSettings(folder, **{"audit_rate": 0.0, "seed": 1,
                                          "limits": no_limits(duplicate_bits=-1), **changes})
    sink = CollectSink(settings, CARD, log=lambda _message: None)
    sink.start({"labels": LABELS})
    return sink


def test_sink_keeps_each_reason_and_writes_the_model_view(tmp_path):
    sink = sink_for(tmp_path, audit_rate=1.0)
    frames = [picture(i, 40) for i in range(6)]
    sink.emit(result(0, margin=0.5), frames[0])  # confident: audited (rate 1)
    sink.emit(result(1, margin=0.05), frames[1])  # unsure
    sink.emit(result(2, label="b", margin=0.5), frames[2])  # disagrees with stable "a"...
    sink.emit(result(3, margin=0.5), frames[3])  # ... and "a" stays: a flicker
    sink.emit(result(4, label="b", margin=0.5, stable="b",
                     event={"type": "label_change", "label": "b", "previous": "a"}), frames[4])
    sink.close({})
    kept, problems = read_collection(tmp_path)
    assert problems == []
    reasons = {f.frame: f.reason for f in kept}
    assert reasons == {0: "audit", 1: "low_margin", 2: "disagreement", 3: "audit", 4: "label_change"}
    assert set(reasons.values()) == set(REASONS)
    view = cv2.imread(str(tmp_path / f"{kept[1].id}.view.jpg"), cv2.IMREAD_UNCHANGED)
    full = cv2.imread(str(tmp_path / f"{kept[1].id}.jpg"))
    assert view.shape == (16, 16) and full.shape == (40, 40, 3)
    assert kept[1].labels == LABELS and kept[1].informativeness == pytest.approx(0.95)
    facts = sink.facts()["collect"]
    assert facts["kept"] == 5 and facts["emit_p50_ms"] < 5


def test_sink_without_reasons_keeps_nothing(tmp_path):
    sink = sink_for(tmp_path, margin=0.0, disagreement=False, label_change=False)
    for index in range(5):
        sink.emit(result(index, margin=0.01, label="b"), picture(index))
    sink.close({})
    assert read_collection(tmp_path) == ([], [])


def test_unwritable_folder_stops_collecting_once_and_emit_goes_on(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    said = []
    sink = CollectSink(CollectSettings(blocker / "collect"), CARD, log=said.append)
    sink.start({"labels": LABELS})
    for index in range(3):
        sink.emit(result(index), picture(index))
    sink.close({})
    assert len(said) == 1 and "collection stopped" in said[0] and "classifying goes on" in said[0]
    assert sink.facts()["collect"]["stopped"]


def test_full_disk_midway_stops_collecting_once(tmp_path, monkeypatch):
    sink = sink_for(tmp_path)
    sink.emit(result(1), picture(1))
    sink.close({})
    from tfedge.edge import collection_store

    original = collection_store.write_bytes_atomic

    def disk_full(path, data):
        if str(path).endswith(".jpg"):
            raise OSError(28, "No space left on device")
        return original(path, data)

    monkeypatch.setattr(collection_store, "write_bytes_atomic", disk_full)
    said = []
    sink = sink_for(tmp_path)
    sink.log = said.append
    for index in range(2, 6):
        sink.emit(result(index), picture(index))
    sink.close({})
    assert len(said) == 1 and "No space left" in said[0]
    assert [f.frame for f in read_collection(tmp_path)[0]] == [1]


def test_tfedge_run_collect_on_the_labelled_video(capsys, tflite_models, labelled_video, tmp_path):
    folder = tmp_path / "collect"
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--collect", str(folder), "--collect-per-minute", "0", "--collect-per-hour", "0",
                 "--collect-class-quota", "3", "--collect-margin", "0.5", "--collect-audit-rate",
                 "0.05", "--collect-seed", "3"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    summary = json.loads(out[-1])["summary"]
    assert all("margin" in json.loads(line) for line in out[:-1])
    kept, problems = read_collection(folder)
    assert problems == [] and kept
    facts = summary["collect"]
    assert facts["kept"] == len(kept) and facts["stopped"] is None
    assert max(facts["per_class"].values()) <= 3
    assert {f.reason for f in kept} <= set(REASONS)
    assert all(f.model_sha256 and len(f.labels) == 10 for f in kept)
    # measured again from the JPEGs on disk (compression moves a bit or two): the goal
    signatures = [signature(cv2.imread(str(folder / f"{f.id}.view.jpg"))) for f in kept]
    pairs = [hamming(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1:]]
    assert sum(distance <= 4 for distance in pairs) < 0.05 * max(1, len(pairs))


def test_tfedge_run_goes_on_when_the_collect_folder_is_unusable(capsys, tflite_models,
                                                                labelled_video, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--max-frames", "20", "--collect", str(blocker / "collect")])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.count("collection stopped") == 1
    assert json.loads(captured.out.splitlines()[-1])["summary"]["frames"] == 20


def test_bad_collect_option_is_a_usage_error(capsys, tflite_models, labelled_video, tmp_path):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--collect", str(tmp_path), "--collect-margin", "2"])
    assert code == 2
    assert "--collect-margin 2.0 must be between 0 and 1" in capsys.readouterr().err


def test_web_page_shows_what_was_collected(tmp_path):
    from tfedge.edge.sinks.web import WebSink

    sink = sink_for(tmp_path)
    web = WebSink(port=0, collection=sink, log=lambda _message: None)
    try:
        sink.emit(result(1), picture(1))
        sink.emit(result(2), picture(2))
        sink.close_writer()
        base = f"http://127.0.0.1:{web.port}"
        status = json.loads(urllib.request.urlopen(f"{base}/api/status").read())
        assert status["collected"]["count"] == 2
        latest = status["collected"]["latest"]
        jpeg = urllib.request.urlopen(f"{base}/collected/{latest[0]}.jpg").read()
        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_UNCHANGED).shape == (16, 16)
        page = urllib.request.urlopen(f"{base}/app.js").read().decode()
        assert "collected/" in page
    finally:
        web.close({})


def test_could_keep_tells_the_inference_thread_what_would_surely_be_refused(tmp_path):
    store = CollectionStore(tmp_path, no_limits(max_frames=2, class_quota=1, per_minute=3))
    store.open()
    assert store.could_keep("a", 0.0, 0.0)
    offered(store, 1, label="a", informativeness=0.5, timestamp=10)
    assert not store.could_keep("a", 0.4, 11) and store.could_keep("b", 0.4, 11)  # "a" at its quota
    offered(store, 2, label="b", informativeness=0.7, timestamp=12)
    assert not store.could_keep("c", 0.4, 13) and store.could_keep("c", 0.6, 13)  # full: beat 0.5
    offered(store, 3, label="c", informativeness=0.9, timestamp=14)
    assert not store.could_keep("d", 0.99, 15)  # 3 written in the last minute
    assert store.could_keep("d", 0.99, 71)


def test_service_runs_with_the_collect_options(tmp_path):
    from tfedge.edge.commands.service import _run_command

    command = _run_command(tmp_path / "m.tflite", ["--source", "0", "--collect", "kept",
                                                   "--collect-max-mb", "50"])
    assert command[-4:] == ["--collect", "kept", "--collect-max-mb", "50"]


def test_after_a_hot_swap_frames_carry_the_new_model(tmp_path, tflite_models):
    """A model_change event is not a label change; later frames name the new model and labels,
    and their model's view is made with the swapped-in file's card."""
    import hashlib

    from tfedge.edge.card import embed_card

    model = tmp_path / "model.tflite"
    model.write_bytes(tflite_models["float32"].read_bytes())
    first_sha = hashlib.sha256(model.read_bytes()).hexdigest()
    folder = tmp_path / "collected"
    settings = CollectSettings(folder, audit_rate=0.0, seed=1, limits=no_limits(duplicate_bits=-1))
    sink = CollectSink(settings, CARD, log=lambda _message: None)
    sink.start({"labels": LABELS, "model": str(model)})
    sink.emit(result(0, margin=0.05), picture(0, 40))
    new_card = ModelCard(labels=["x", "y"], input_size=(8, 8), color_order="RGB")
    model.write_bytes(embed_card(tflite_models["float32"].read_bytes(), new_card))
    new_sha = hashlib.sha256(model.read_bytes()).hexdigest()
    change = {"type": "model_change", "previous": first_sha, "sha256": new_sha, "model": new_sha[:12],
              "labels": ["x", "y"]}
    sink.emit(result(1, label="x", margin=0.05, stable=None, event=change), picture(1, 40))
    sink.close({})
    kept, problems = read_collection(folder)
    assert problems == []
    assert [(f.frame, f.reason) for f in kept] == [(0, "low_margin"), (1, "low_margin")]
    assert (kept[0].model_sha256, kept[0].labels) == (first_sha, LABELS)
    assert (kept[1].model_sha256, kept[1].labels) == (new_sha, ["x", "y"])
    view = cv2.imread(str(folder / f"{kept[1].id}.view.jpg"), cv2.IMREAD_UNCHANGED)
    assert view.shape == (8, 8, 3)


def test_the_writer_thread_yields_the_cpu_to_capture_and_inference(tmp_path):
    import os

    sink = sink_for(tmp_path)
    try:
        own, wanted = os.getpriority(os.PRIO_PROCESS, 0), min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        for _ in range(500):  # the thread sets it as it starts
            if os.getpriority(os.PRIO_PROCESS, sink._thread.native_id) == wanted:
                break
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, sink._thread.native_id) == wanted
        assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the inference thread keeps its own
    finally:
        sink.close({})


def test_facts_count_the_collectors_own_time(tmp_path):
    sink = sink_for(tmp_path)
    for index in range(5):
        sink.emit(result(index, margin=0.05), picture(index, 40))
    facts = sink.facts()["collect"]
    sink.close({})
    assert facts["kept"] == 5
    assert facts["emit_total_ms"] > 0 and facts["writer_cpu_ms"] > 0  # JPEGs were made: CPU was spent
    assert facts["emit_mean_ms"] * 5 == pytest.approx(facts["emit_total_ms"], rel=0.01, abs=1e-3)


def test_spread_and_audit_share_options_reach_the_store(capsys, tflite_models, labelled_video, tmp_path):
    import argparse

    from tfedge.edge.commands.run_options import add_collect_arguments, collect_settings

    parser = argparse.ArgumentParser()
    add_collect_arguments(parser)
    settings = collect_settings(parser.parse_args(["--collect", str(tmp_path), "--collect-spread",
                                                   "--collect-audit-share", "0.3"]))
    assert settings.limits.spread and settings.limits.audit_share == 0.3
    assert CollectionStore(tmp_path, settings.limits).spread is not None
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--collect", str(tmp_path), "--collect-audit-share", "1.5"])
    assert code == 2
    assert "--collect-audit-share 1.5 must be between 0 and 1" in capsys.readouterr().err

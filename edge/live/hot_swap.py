"""Hot swap: a new model file takes over a running `tfedge run` between two frames.

A watcher thread looks at the model path's identity (device, inode, size, modification time)
four times a second, and reloads on request (SIGHUP). A changed file is taken once it has not
changed between two looks, so a file copied in place (scp) is loaded once, complete; a rename
onto the path (tfedge deploy) is taken a look later. It is loaded beside the running model,
checked (a valid .tflite with an image input, the labels `--on` names, an input the source can
feed, its self-test) and warmed up on the latest real frame; only then does the inference
thread take it, between two frames (`input_for`). A file that fails a check is refused with a
`model_rejected` event and one log line; the running model goes on.

Frames are prepared in the capture thread for the model that will classify them: the running
one, or the one waiting to take over (`prepare` tags each tensor with its classifier). A frame
prepared for the previous model is prepared again for the new one from its picture; a frame
whose picture was not kept (no sink needs pictures: the capture queues tensors only) is
classified by the model it was prepared for, and the new model takes over at the first frame
prepared for it. So no frame is classified by half a model.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from pathlib import Path

from tfedge.edge.digests import sha256_hex
from tfedge.edge.heap import trim
from tfedge.edge.self_test import run_self_test
from tfedge.errors import TfedgeError

POLL_SECONDS = 0.25  # a stat() four times a second: nothing next to a frame's work
WAITING_POLL_S = 0.05  # while a checked model waits for the inference thread to take it


def file_identity(path: Path) -> tuple | None:
    """What changes when the file at `path` is replaced or rewritten; None when it is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def model_sha256(classifier) -> str:
    return sha256_hex(classifier.model.content)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class HotSwap:
    """The running classifier, and the watcher that replaces it.

    Args:
        classifier: the model running now.
        path: the model path to watch.
        load: path -> a new Classifier (the same options as the running one); raises on a bad file.
        required_labels: labels a new model must have (the `--on` triggers).
        poll_s: seconds between two looks at the path's identity.
        log: where the one-line reasons go (stderr).
    """

    def __init__(self, classifier, path: str | Path, load, required_labels=(), poll_s: float = POLL_SECONDS,
                 log=_stderr) -> None:
        self.path = Path(path)
        self.load = load
        self.required_labels = tuple(required_labels)
        self.poll_s = poll_s
        self.log = log
        self._active = (classifier, model_sha256(classifier))
        self._ready = None  # (classifier, sha256, event) waiting for the inference thread
        self._retired = None  # the model just replaced: freed by the watcher, not between frames
        self._events: deque = deque()
        self._identity = file_identity(self.path)
        self._last_image = None
        self._lock = threading.Lock()
        self._reload = threading.Event()
        self._stop = threading.Event()
        self.swaps = 0
        self.rejections = 0
        self._thread = threading.Thread(target=self._watch, name="tfedge-hot-swap", daemon=True)

    @property
    def classifier(self):
        return self._active[0]

    @property
    def sha256(self) -> str:
        return self._active[1]

    @property
    def short_sha(self) -> str:
        return self._active[1][:12]

    def start(self) -> HotSwap:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._reload.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def request_reload(self) -> None:
        """Load the file again even if it looks unchanged (SIGHUP; safe from a signal handler)."""
        self._reload.set()

    # -- the capture and inference threads --------------------------------------------------

    def prepare(self, image):
        """The capture thread's preparation: (classifier, tensor) for the model waiting to take
        over when there is one, else for the running one."""
        self._last_image = image
        ready = self._ready
        classifier = ready[0] if ready is not None else self._active[0]
        return classifier, classifier.prepare(image)

    def input_for(self, item) -> tuple:
        """(classifier, tensor or None, model_change event or None) for one captured frame,
        switching models first when a checked one is ready (the event then belongs to this
        frame's result). Called by the inference thread between frames."""
        change = None
        prepared_for, tensor = item.prepared_for, item.tensor
        with self._lock:
            ready = self._ready
            if ready is not None and item.image is None and prepared_for is self._active[0]:
                ready = None  # no picture to prepare it again: the running model classifies it
            else:
                self._ready = None
        if ready is not None:
            classifier, sha, change = ready
            self._retired = self._active
            self._active = (classifier, sha)
            self.swaps += 1
        classifier = self._active[0]
        if item.image is not None:
            self._last_image = item.image
        return classifier, tensor if prepared_for is classifier else None, change

    def pop_event(self) -> dict | None:
        """The oldest model_rejected event not yet reported, or None."""
        try:
            return self._events.popleft()
        except IndexError:
            return None

    # -- the watcher thread -----------------------------------------------------------------

    def _watch(self) -> None:
        # Same priority as the inference thread, on purpose: a lower-priority thread that holds
        # the interpreter lock (GIL) while the OS gives its core to others holds up inference.
        settling, waiting = None, False  # waiting: a reload requested while a model waited
        while not self._stop.is_set():
            # while a checked model waits to take over, look again soon after it has
            requested = self._reload.wait(WAITING_POLL_S if self._ready is not None else self.poll_s)
            self._reload.clear()
            if self._stop.is_set():
                return
            if self._retired is not None:
                self._retired = None
                trim()
            if self._ready is not None:  # a checked model waits to take over: frames may be
                waiting = waiting or requested  # prepared for it already, so none replaces it
                continue
            requested, waiting = requested or waiting, False
            identity = file_identity(self.path)
            if identity is None or (identity == self._identity and not requested):
                continue  # missing (between an unlink and a rename): wait for the new file
            if not requested and identity != settling:
                settling = identity  # changed since the last look: load it once it stops changing
                continue
            settling, self._identity = None, identity
            try:
                self._try(identity)
            except Exception as error:  # noqa: BLE001 - a bad file never stops the running model
                self._reject(None, f"{type(error).__name__}: {error}")

    def _try(self, identity: tuple) -> None:
        started = time.perf_counter()
        try:
            candidate = self.load(self.path)
        except (TfedgeError, ValueError, OSError) as error:
            self._reject(None, str(error))
            return
        sha = model_sha256(candidate)
        load_ms = (time.perf_counter() - started) * 1000.0
        time.sleep(0.005)  # let the inference thread have the interpreter lock between steps
        if sha == self.sha256 and self._ready is None:
            return  # the same bytes again (touched, or copied back): nothing to do
        why = self.check(candidate)
        if why is not None:
            self._reject(sha, why)
            return
        try:
            result = run_self_test(candidate)
        except (TfedgeError, ValueError) as error:
            self._reject(sha, str(error))
            return
        if result is not None and not result.passed:
            self._reject(sha, f"self-test failed: {result.problem}")
            return
        if result is None:
            self.log(f"tfedge run: warning: {self.path} carries no self-test; its scores are unchecked")
        time.sleep(0.005)
        if self._last_image is not None:
            candidate.classify(self._last_image)  # warm-up on a real frame: the first invoke is slow
        event = {"type": "model_change", "previous": self.sha256, "sha256": sha, "model": sha[:12],
                 "labels": list(candidate.labels), "load_ms": round(load_ms, 3),
                 "self_test_ms": None if result is None else round(result.milliseconds, 3),
                 "timestamp": round(time.time(), 3)}
        if file_identity(self.path) != identity:
            return  # replaced again while we checked it: the next look loads the newer file
        with self._lock:
            self._ready = (candidate, sha, event)
        self.log(f"tfedge run: model {self.path} ({sha[:12]}) loaded in {load_ms:.0f} ms, checked; "
                 f"taking over from {self.sha256[:12]}")

    def check(self, candidate) -> str | None:
        """Why `candidate` cannot take over, or None: the `--on` labels, an input the source feeds."""
        missing = [label for label in self.required_labels if label not in candidate.labels]
        if missing:
            return (f"it lacks the label {missing[0]!r} that --on names (its labels: "
                    f"{', '.join(candidate.labels[:20])})")
        image = self._last_image
        if image is not None:
            height, width = candidate.card.input_size
            running_height, running_width = self.classifier.card.input_size
            if (height > image.shape[0] and height > running_height) or (
                    width > image.shape[1] and width > running_width):
                return (f"its input is {width}x{height}, larger than the source's "
                        f"{image.shape[1]}x{image.shape[0]} frames and the running model's "
                        f"{running_width}x{running_height}: the source cannot feed it")
        return None

    def _reject(self, sha: str | None, why: str) -> None:
        self.rejections += 1
        self._events.append({"type": "model_rejected", "sha256": sha, "reason": why,
                             "timestamp": round(time.time(), 3)})
        self.log(f"tfedge run: model {self.path} refused: {why}; still running {self.short_sha}")

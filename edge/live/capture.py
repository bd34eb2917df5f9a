"""Capture in its own thread: frames are read while the last one is classified.

Live sources (cameras, streams) and `realtime` files keep only the latest frame: a frame not
yet taken when a newer one arrives is dropped and counted, so results never lag behind reality.
Their frames are handed over as decoded: only the frame the classifier takes is preprocessed
(by it, straight into the interpreter's input buffer), so a dropped frame costs only its decode.
Sources that grab and convert apart (OpenCV's; picamera2's, whose lores stream is YUV420) are
grabbed (decoded) but converted to BGR (for an MJPEG camera: JPEG-decoded) only when the
classifier is expected back before the next frame arrives, judged from how long it took with
the frames before; a frame grabbed unconverted is converted at once when the classifier asks for
it, so a dropped frame costs only its grab.
Other file sources hand over every frame through a short queue, each preprocessed here while the
one before is classified; when no sink needs the pictures, only the tensors wait (150 KB for a
224x224 model against 2.7 MB for a 720p frame), so the queue can be long enough to ride out the
frames that take longer than one classification to decode (with B-frames, one read in a few
decodes two). A live source that stops is
reopened with backoff while the run goes on; each state change is logged once.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from tfedge.edge.threads import lower_thread_priority
from tfedge.errors import SourceError


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts to (re)open a source: first, doubling up to `maximum` seconds."""

    first: float = 0.25
    maximum: float = 5.0

    def delays(self):
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.maximum)


@dataclass
class Frame:
    index: int  # position in the source's stream of frames (gaps are dropped frames)
    image: np.ndarray | None  # BGR uint8, as read, never written to after; None: not kept
    tensor: np.ndarray | None  # the model's input made by `prepare` in the capture thread (queued files)
    timestamp: float  # unix seconds when it was read
    prepared_for: object = None  # the classifier whose `prepare` made `tensor`: only it may use it


END = object()  # handed out once the source has ended (file) or failed for good
# Queued file frames read ahead when they carry tensors only (150 KB each at 224x224): enough for
# the classifier not to wait through a read that decodes two frames at once (B-frames); 6 gained
# nothing more at 720p (benchmarks/edge_pipeline.py, classifier busy 0.955).
TENSORS_AHEAD = 3


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_with_retry(source, stop: threading.Event, wait: bool, backoff: Backoff = Backoff(),
                    log=_stderr) -> bool:
    """Open `source`; with `wait`, retry with backoff until it opens or `stop` is set.

    Returns False only when stopped before it opened. Raises SourceError when not waiting.
    """
    delays = backoff.delays()
    announced = False
    while True:
        try:
            source.open()
            if announced:
                log("tfedge run: source opened")
            return True
        except SourceError as error:
            if not wait:
                raise
            if not announced:
                log(f"tfedge run: {error}; --wait-for-source: retrying until it opens")
                announced = True
        if stop.wait(next(delays)):
            return False


def _average(mean: float, value: float) -> float:
    """A running average that follows changes within a few values (the first value starts it)."""
    return value if mean == 0.0 else 0.8 * mean + 0.2 * value


class Capture:
    """Reads `source` in a thread. Open the source first (see `open_with_retry`), then `start()`.

    Args:
        source: an opened source (see tfedge.edge.live.sources).
        prepare: frame -> input tensor, run in the capture thread for queued file frames (None, and
            for live frames: no tensor; the classifier prepares the frame it takes): a
            classifier's `prepare` (the frame's `prepared_for` is that classifier), or one that
            returns (classifier, tensor) when it picks the classifier frame by frame (HotSwap).
        realtime: for a file, pace reading at the file's frame rate and keep only the latest frame.
        backoff: delays between reconnect attempts of a live source.
        queue_size: frames a file source may read ahead. None: 1 with pictures (one frame is
            decoded and waits while one is classified; more costs 2.7 MB a 720p frame),
            TENSORS_AHEAD without; an explicit size serves both). The next frame is decoded
            only once one read ahead was taken, so with pictures at most queue_size + 1 decoded
            frames are alive here and in the inference loop, the classified one included (the
            result stage holds one more while its sinks are given it).
        keep_images: False: queued file frames carry their tensor only (no sink needs pictures).
            A function: asked before each queued frame is read (True while a sink needs pictures,
            such as a web page with a viewer); the read-ahead is TENSORS_AHEAD while it says
            False and shrinks to 1 picture while it says True.
        nice: how much lower than the inference thread this thread's CPU priority is (Linux),
            so that on a busy board the interpreter gets the CPU first.
    """

    def __init__(self, source, prepare=None, realtime: bool = False, backoff: Backoff = Backoff(),
                 queue_size: int | None = None, log=_stderr, nice: int = 5,
                 keep_images=True) -> None:
        self.source = source
        self.prepare = prepare
        self.latest_only = bool(source.live or realtime)
        self.realtime = realtime and not source.live
        self.backoff = backoff
        self.log = log
        self.nice = nice
        fixed = prepare is None or not callable(keep_images)
        if fixed:
            keep = bool(keep_images) or prepare is None

            def keep_images() -> bool:
                return keep
        self.keep_images = keep_images
        tensors_ahead = TENSORS_AHEAD if not (fixed and keep) else 1  # tensors only, at times
        self._pictures_ahead = 1 if queue_size is None else queue_size
        self._ahead = tensors_ahead if queue_size is None else queue_size
        self.stop_event = threading.Event()
        self.dropped_frames = 0
        self.reconnects = 0
        self.error: BaseException | None = None
        # queued file frames, and one token per frame the capture thread may still decode ahead:
        # SimpleQueues (C, no Python-level lock) cost a tenth of queue.Queue and Semaphore per frame
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._room: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(self._ahead):
            self._room.put(None)
        self._withheld = 0  # tokens kept out of play while pictures are kept (a shorter read-ahead)
        self._latest = None
        self._condition = threading.Condition()
        # grab now, convert later (latest-only OpenCV sources): see the module's docstring
        self._lazy = self.latest_only and hasattr(source, "grab") and hasattr(source, "retrieve")
        self._pending: tuple[int, float] | None = None  # (index, timestamp) grabbed, not converted
        self._waiting = False  # the classifier is in get(), waiting for a frame
        self._taken_at: float | None = None  # when the classifier took its last frame
        self._busy = 0.0  # seconds it spends between taking a frame and asking again (average)
        self._interval = 0.0  # seconds between two grabs (average)
        self._grabbed_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="tfedge-capture", daemon=True)

    def start(self) -> Capture:
        self._thread.start()
        return self

    def get(self, timeout: float = 0.1):
        """The next Frame, END, or None when nothing arrived within `timeout` seconds."""
        if not self.latest_only:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return None
            if item is not END:
                self._room.put(None)  # taken: the capture thread may decode the next one
            return item
        with self._condition:
            if self._taken_at is not None:
                self._busy = _average(self._busy, time.perf_counter() - self._taken_at)
                self._taken_at = None
            if self._latest is None:
                self._waiting = True
                self._condition.notify_all()  # a frame grabbed but not converted is converted now
                self._condition.wait(timeout)
                self._waiting = False
            item, self._latest = self._latest, None
            if item is not None and item is not END:
                self._taken_at = time.perf_counter()
            return item

    def stop(self, timeout: float = 1.0) -> None:
        """Stop reading and release the source (waits up to `timeout` for a read in progress)."""
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.source.release()
        # else: the thread is stuck in a driver call; it releases the source when that returns

    # -- the capture thread ------------------------------------------------------------------

    def _hand_over(self, item) -> None:
        if self.latest_only:
            with self._condition:
                if self._latest is not None and self._latest is not END:
                    self.dropped_frames += 1
                self._latest = item
                self._condition.notify_all()
            return
        self._queue.put(item)  # never more than the read-ahead: each frame took a token from _room

    def _reconnect(self) -> bool:
        self.log(f"tfedge run: source {self.source.describe().get('source')} stopped delivering "
                 "frames; reconnecting")
        self.source.release()
        tries = 0
        for delay in self.backoff.delays():
            if self.stop_event.wait(delay):
                return False
            tries += 1
            try:
                self.source.open()
            except SourceError:
                continue
            self.reconnects += 1
            self.log(f"tfedge run: source back after {tries} attempt{'s' * (tries != 1)}")
            return True
        return False  # unreachable: delays() never ends

    def _run(self) -> None:
        lower_thread_priority(self.nice)
        index = 0
        started = time.perf_counter()
        frame_interval = 0.0
        if self.realtime:
            fps = float(self.source.describe().get("fps") or 0)
            frame_interval = 1.0 / fps if fps > 0 else 0.0
        try:
            while not self.stop_event.is_set():
                keep = self.keep_images()
                if not self.latest_only and not self._room_for_next(keep):
                    continue  # the frames read ahead are not taken yet: decode no further
                ok, image = self._grab(index) if self._lazy else self.source.read()
                if not ok:
                    if self.source.live and not self.stop_event.is_set() and self._reconnect():
                        continue
                    break
                if image is not None:
                    timestamp = time.time()
                    # live: the frame may be dropped unseen, so the inference thread prepares the
                    # one it takes; queued files: every frame is classified, prepared here meanwhile
                    owner, tensor = self._prepared(image) if not self.latest_only else (None, None)
                    kept = image if keep or tensor is None else None
                    self._hand_over(Frame(index, kept, tensor, timestamp, owner))
                    image = kept = None  # not alive while the next frame is decoded
                index += 1
                if frame_interval:
                    self._pace(started + index * frame_interval)
        except BaseException as error:  # noqa: BLE001 - handed to the inference thread, re-raised there
            self.error = error
        finally:
            if self._pending is not None:
                self.dropped_frames += 1  # grabbed last, never asked for
            if self.stop_event.is_set():
                self.source.release()
            if self.latest_only:
                self._hand_over(END)
            else:
                self._put_end()

    def _prepared(self, image: np.ndarray) -> tuple[object, np.ndarray | None]:
        """(the classifier a tensor is for, the tensor) made by `prepare`; (None, None) without."""
        if self.prepare is None:
            return None, None
        made = self.prepare(image)
        if isinstance(made, tuple):
            return made  # the preparer chose the classifier (HotSwap.prepare)
        return getattr(self.prepare, "__self__", None), made  # a classifier's own prepare

    def _grab(self, index: int) -> tuple[bool, np.ndarray | None]:
        """Grab the next frame; convert it now only when the classifier will want it before the
        next one arrives. (True, None): grabbed, left unconverted (pending)."""
        now = time.perf_counter()
        if not self.source.grab():
            return False, None
        if self._grabbed_at is not None:
            self._interval = _average(self._interval, now - self._grabbed_at)
        self._grabbed_at = now
        with self._condition:
            back_at = None if self._taken_at is None else self._taken_at + self._busy
            convert = self._waiting or back_at is None or back_at <= now + self._interval
            if self._pending is not None:
                self.dropped_frames += 1  # grabbed before this one, never asked for
            self._pending = None if convert else (index, time.time())
        return self.source.retrieve() if convert else (True, None)

    def _convert_pending(self) -> None:
        """Convert the frame grabbed last and hand it over (call holding the condition)."""
        index, timestamp = self._pending
        self._pending = None
        ok, image = self.source.retrieve()
        if not ok:
            self.dropped_frames += 1
            return
        if self._latest is not None and self._latest is not END:
            self.dropped_frames += 1
        self._latest = Frame(index, image, None, timestamp)
        self._condition.notify_all()

    def _pace(self, until: float) -> None:
        """Wait until `until` (perf_counter seconds); meanwhile convert a pending frame the
        classifier asks for."""
        with self._condition:
            while not self.stop_event.is_set():
                if self._waiting and self._pending is not None:
                    self._convert_pending()
                remaining = until - time.perf_counter()
                if remaining <= 0:
                    return
                self._condition.wait(min(remaining, 0.1))

    def _room_for_next(self, keep: bool) -> bool:
        """Wait (0.1 s at most) for room to decode one more queued frame: a token, once as many
        are withheld as make the read-ahead `_pictures_ahead` while pictures are kept."""
        withhold = self._ahead - self._pictures_ahead if keep else 0
        while self._withheld > withhold:  # no pictures any more: read further ahead again
            self._room.put(None)
            self._withheld -= 1
        try:
            while self._withheld < withhold:  # pictures: wait until frames read ahead are taken
                self._room.get(timeout=0.1)
                self._withheld += 1
            self._room.get(timeout=0.1)
            return True
        except queue.Empty:
            return False

    def _put_end(self) -> None:
        self._queue.put(END)

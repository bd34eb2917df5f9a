"""The real screen: whether one is there, and the window (tfedge.edge.opencv_builds: the OpenCV
builds that can show it).

The window lives in a child process of its own (OpenCV's GUI build, Qt under X11/Xwayland): Qt
ends the whole process when the display goes away, and a window process that ends lets the run
go on headless instead. It draws each frame with tfedge.edge.sinks.overlay.draw_overlay_in_place
on the run's copy in shared memory; tfedge.edge.sinks.x11 repairs a window Qt never painted.
"""

from __future__ import annotations

import math
import os
import platform
import select
import sys
import time

import cv2
import numpy as np

from tfedge.edge.sinks.overlay import CHANGE_SECONDS, draw_overlay_in_place
from tfedge.edge.sinks.x11 import map_again_if_unpainted, screen_size
from tfedge.edge.threads import limit_opencv_threads

WINDOW_NAME = "tfedge"
WINDOW_NICENESS = 10  # on busy cores the classifier comes first; the window takes what is left
KEY_POLL_SECONDS = 0.04  # keys and the close button are looked at after each frame, else 25 times a second
PAINT_CHECK_SECONDS = 0.5  # after the first frame, time for Qt to paint; then a black window is mapped again
PAINT_REPAIRS = 3
MIN_SHOWN_WIDTH = 640  # smaller frames (a 96x96 model's test video) are enlarged for the screen


def enlarged_for_screen(frame):
    """A frame narrower than MIN_SHOWN_WIDTH, enlarged by a whole factor (sharp pixels) to reach it."""
    if frame.shape[1] >= MIN_SHOWN_WIDTH:
        return frame
    factor = math.ceil(MIN_SHOWN_WIDTH / frame.shape[1])
    return cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


def display_available() -> bool:
    """False where no window can open (Linux without DISPLAY or WAYLAND_DISPLAY); Qt would abort."""
    return not (platform.system() == "Linux"
                and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")))


def _size_window(shown: tuple[int, int], fullscreen: bool, screen: tuple[int, int] | None) -> None:
    """The first frame's size (shrunk to fit the screen, same ratio), or the whole screen where
    --fullscreen was not honoured (an X server without a window manager)."""
    if fullscreen:
        cv2.setWindowProperty(WINDOW_NAME, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
        cv2.waitKey(100)  # a window manager makes it full screen meanwhile
        if screen and tuple(cv2.getWindowImageRect(WINDOW_NAME)[2:]) != screen:
            cv2.setWindowProperty(WINDOW_NAME, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_NORMAL)
            cv2.moveWindow(WINDOW_NAME, 0, 0)
            cv2.resizeWindow(WINDOW_NAME, *screen)
        return
    width, height = shown
    fit = min(1.0, screen[0] / width, screen[1] / height) if screen else 1.0
    cv2.resizeWindow(WINDOW_NAME, int(width * fit), int(height * fit))


class _SharedFrame:
    """The frame hand-over: one block of shared memory the run copies each shown frame into and
    the window process draws on in place (no pickling, no pipe traffic, no further copy).

    The run owns the block (creates, grows, unlinks it); the window process attaches by name. Only
    one frame is in flight: the run writes the block again only after the window said "shown".
    """

    def __init__(self) -> None:
        self.memory = None

    def put(self, frame) -> tuple[str, tuple[int, ...]]:
        """Copy `frame` (uint8) into the block, growing it when needed; (block name, shape)."""
        from multiprocessing import shared_memory

        if self.memory is None or self.memory.size < frame.nbytes:
            self.release()
            self.memory = shared_memory.SharedMemory(create=True, size=frame.nbytes)
        np.copyto(np.ndarray(frame.shape, np.uint8, self.memory.buf), frame)
        return self.memory.name, frame.shape

    def release(self) -> None:
        if self.memory is not None:
            self.memory.close()
            self.memory.unlink()
            self.memory = None


class _AttachedFrames:
    """The window process's side of _SharedFrame: the block named in each message, as an array."""

    def __init__(self) -> None:
        self.memory = None

    def frame(self, name: str, shape: tuple[int, ...]):
        from multiprocessing import shared_memory

        if self.memory is None or self.memory.name != name:
            self.close()
            self.memory = shared_memory.SharedMemory(name=name)  # the run unlinks it, not us
        return np.ndarray(shape, np.uint8, self.memory.buf)

    def close(self) -> None:
        if self.memory is not None:
            self.memory.close()
            self.memory = None


def _message_waiter(connection):
    """`wait(seconds) -> a message is there`: one select.poll set up once where there is one
    (Connection.poll builds a selector on every call: a tenth of a millisecond, twice a frame)."""
    if not hasattr(select, "poll"):
        return connection.poll
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return lambda seconds: bool(poller.poll(math.ceil(seconds * 1000)))


def _window_process(connection, fullscreen: bool, show_top_k: bool) -> None:
    """The window's own process: show what the sink sends, report keys, a closed window and the end.

    Messages in: (result, block name, shape, changed_at) (the frame waits in shared memory, see
    _SharedFrame) or None (close). Out: ("ready", cpu_s) or ("error", text) once; ("shown", cpu_s)
    after each frame; ("quit",) on q, Esc or the close button; ("bye", cpu_s) (cpu_s: the window
    process's CPU seconds so far).
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run stops on these; it closes us itself
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(WINDOW_NICENESS)
    limit_opencv_threads()  # else OpenCV's pool spins (sched_yield) after each colour conversion
    try:
        cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
    except cv2.error as error:
        connection.send(("error", str(error).strip().splitlines()[-1]))
        return
    screen = screen_size()  # before "ready": the run has not started yet
    connection.send(("ready", time.process_time()))
    frames = _AttachedFrames()
    message_waiting = _message_waiter(connection)
    sized = False
    paint_check_at, repairs = None, 0
    quit_sent = False
    while True:
        if message_waiting(KEY_POLL_SECONDS):
            message = connection.recv()
            if message is None:
                break
            result, name, shape, changed_at = message
            if not quit_sent:  # imshow would open a closed window again
                image = draw_overlay_in_place(enlarged_for_screen(frames.frame(name, shape)), result,
                                              show_top_k, time.time() - changed_at < CHANGE_SECONDS)
                cv2.imshow(WINDOW_NAME, image)  # Qt converts it into its own image: the block is free
                if not sized:
                    cv2.waitKey(1)
                    _size_window((image.shape[1], image.shape[0]), fullscreen, screen)
                    sized = True
                    paint_check_at = time.monotonic() + PAINT_CHECK_SECONDS
                elif paint_check_at is not None and time.monotonic() >= paint_check_at:
                    paint_check_at = None
                    if repairs < PAINT_REPAIRS and map_again_if_unpainted(WINDOW_NAME):  # see sinks.x11
                        repairs += 1
                        paint_check_at = time.monotonic() + PAINT_CHECK_SECONDS
                        print("tfedge run: the window was mapped but never painted (Qt missed its "
                              "MapNotify); mapped it again", file=sys.stderr, flush=True)
                del image  # no view of the block outlives the message
            connection.send(("shown", time.process_time()))
        if quit_sent:
            continue
        key = cv2.waitKey(1) & 0xFF
        try:
            closed = cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:  # the close button destroyed it (Qt)
            closed = True
        if key in (ord("q"), 27) or closed:
            connection.send(("quit",))
            quit_sent = True
    frames.close()
    cv2.destroyAllWindows()
    connection.send(("bye", time.process_time()))


class WindowProcess:
    """The real screen, in a child process: `open()` -> None or why not; `show` -> False once gone."""

    def __init__(self, fullscreen: bool = False, show_top_k: bool = False) -> None:
        import multiprocessing  # only with a window: 0.5 MB of RSS that --headless does without

        context = multiprocessing.get_context("spawn")  # never fork a process with threads and Qt
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_window_process, args=(child, fullscreen, show_top_k),
                                        name="tfedge-window", daemon=True)
        self._frame = _SharedFrame()
        self._message_waiting = _message_waiter(self._connection)
        self.quit = False
        self.cpu_s = None
        self.start_cpu_s = None  # the window process's CPU seconds until it was ready

    def open(self, timeout: float = 20.0) -> str | None:
        self._process.start()
        if not self._connection.poll(timeout):
            self._process.terminate()
            return "the window did not open in time"
        try:
            answer = self._connection.recv()
        except EOFError:
            self._process.join(timeout=5.0)
            return f"the window process ended (exit code {self._process.exitcode})"
        if answer[0] != "ready":
            return answer[1]
        self.start_cpu_s = round(answer[1], 3)
        return None

    def _receive(self, wanted: str, timeout: float) -> bool:
        """Read messages until `wanted` arrives (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while self._message_waiting(max(0.0, deadline - time.monotonic())):
            message = self._connection.recv()
            if message[0] == "quit":
                self.quit = True
            elif message[0] in ("shown", "bye"):
                self.cpu_s = round(message[1], 3)
            if message[0] == wanted:
                return True
        return False

    def show(self, result: dict, frame, changed_at: float) -> bool:
        """Send one frame and wait until it is shown; False when the window process is gone."""
        try:
            self._connection.send((result, *self._frame.put(frame), changed_at))
            while not self._receive("shown", 0.5):
                if not self._process.is_alive():
                    return False
            return True
        except (EOFError, OSError):
            return False

    def poll(self) -> bool:
        """Collect a quit without a new frame; False when the window process is gone."""
        try:
            self._receive("shown", 0.0)
        except (EOFError, OSError):
            return False
        return self._process.is_alive()

    def close(self) -> None:
        try:
            self._connection.send(None)
            self._receive("bye", 2.0)
        except (EOFError, OSError):
            pass
        self._process.join(timeout=2.0)
        if self._process.is_alive():
            self._process.terminate()
        self._frame.release()

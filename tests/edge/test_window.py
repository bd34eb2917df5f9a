"""The `tfedge run` window for real: OpenCV's GUI build on an Xvfb display, driven with xdotool.

Each test starts its own Xvfb (on a free display number from 100 up), runs
`tfedge run` as a user would, photographs the screen (xwd, then ImageMagick's convert to PNG)
and presses keys. One screenshot is kept in test-artifacts/edge_window.png.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tfedge.edge.sinks.overlay import BANNER_BGR, CHANGED_BGR, MAX_WINDOW_FPS, OverlaySink
from tfedge.edge.sinks.window import WINDOW_NICENESS, WindowProcess
from tfedge.main import main

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREEN = (1024, 768)
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "xwd": "x11-apps", "convert": "imagemagick"}

real_x = pytest.mark.real_component("xvfb", "xdotool", "x11-apps", "imagemagick")


@pytest.fixture(scope="module")
def long_video(fashion_dir, tmp_path_factory) -> Path:
    """33 s of real Fashion-MNIST test images (10 frames each): --realtime outlasts every test."""
    from labelled_video import write_labelled_video

    items = sorted(((path, path.parent.name) for path in (fashion_dir / "test").rglob("*.png")),
                   key=lambda item: item[0].name)
    return write_labelled_video(items, tmp_path_factory.mktemp("window") / "long.mp4", frames_per_image=10)


@pytest.fixture
def display():
    """A fresh Xvfb screen (1024x768) on a free display number: yields ":N" (a Screen), stops it after."""
    missing = [package for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs Debian's {', '.join(missing)} (make test installs them)")
    server, number = None, None
    for number in range(100, 200):  # high numbers: clear of a desktop's :0 and other test runs
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "{}x{}x24".format(*SCREEN),
                                   "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while server.poll() is None and not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert time.monotonic() < deadline, "Xvfb did not start in 10 s"
            time.sleep(0.05)
        if server.poll() is None:
            break
    assert server is not None and server.poll() is None, "no free X display number in 100-199"
    yield Screen(f":{number}", server)
    server.terminate()
    server.wait(timeout=10)


class Screen(str):
    """A display name (":N") that also holds its Xvfb process."""

    def __new__(cls, name: str, server: subprocess.Popen):
        screen = super().__new__(cls, name)
        screen.server = server
        return screen


def x_tool(display, *command, check=True) -> str:
    done = subprocess.run(command, env=os.environ | {"DISPLAY": display}, capture_output=True,
                          text=True, timeout=30)
    if check and done.returncode != 0:
        raise AssertionError(f"{command} failed: {done.stderr}")
    return done.stdout


def screenshot(display, path: Path):
    """The whole screen as a BGR array (and a PNG at `path`)."""
    xwd = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True,
                         check=True, timeout=30).stdout
    subprocess.run(["convert", "xwd:-", f"png:{path}"], input=xwd, check=True, timeout=30)
    return cv2.imread(str(path))


def banner_shown(shot) -> bool:
    """The label banner's colour across most of the window's top row (wherever the window is)."""
    row = shot[4]
    return max(np.all(row == colour, axis=1).sum() for colour in (BANNER_BGR, CHANGED_BGR)) >= 400


class Run:
    """`tfedge run MODEL --source VIDEO --realtime ARGS` on `display`, as its own process."""

    def __init__(self, display, model, video, tmp_path, *args):
        self.display, self.tmp_path = display, tmp_path
        self.command = [sys.executable, "-m", "tfedge", "run", str(model), "--source", str(video),
                        "--realtime", *args]
        self.out, self.err = open(self.tmp_path / "out.txt", "w+"), open(self.tmp_path / "err.txt", "w+")
        self.process = subprocess.Popen(self.command, env=os.environ | {"DISPLAY": self.display},
                                        stdout=self.out, stderr=self.err)

    def wait_for_window(self, timeout=15.0):
        """The window's id once it shows a frame with its banner, and that screenshot.

        No second try: a window Qt leaves unpainted (it missed its MapNotify, about one run in
        ten here under load) is mapped again by the window process itself (tfedge.edge.sinks.x11).
        """
        deadline, window, shot = time.monotonic() + timeout, None, None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"tfedge run ended early: {self.stderr()}"
            window = x_tool(self.display, "xdotool", "search", "--name", "^tfedge$", check=False).split()
            if window:
                shot = screenshot(self.display, self.tmp_path / "screen.png")
                if banner_shown(shot):
                    return window[0], shot
            time.sleep(0.5)
        state = x_tool(self.display, "xwininfo", "-id", window[0], check=False) if window else "no window"
        black = " (black all over)" if shot is not None and shot.max() == 0 else ""
        raise AssertionError(f"no window with a banner within {timeout} s{black}: {state} {self.stderr()}")

    def finish(self, timeout=20.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.out.flush()
            self.err.flush()

    def stderr(self) -> str:
        self.err.flush()
        return (self.tmp_path / "err.txt").read_text()

    def stdout(self) -> str:
        self.out.flush()
        return (self.tmp_path / "out.txt").read_text()


@real_x
def test_window_shows_frames_with_the_banner_and_q_stops_the_run(display, tflite_models, long_video,
                                                                 tmp_path):
    run = Run(display, tflite_models["int8"], long_video, tmp_path, "--show-top-k")
    window, shot = run.wait_for_window()
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "screen.png", ARTIFACTS / "edge_window.png")
    x, y, width, height = geometry(display, window)
    # the video's frames (enlarged to 672x672) fill the window below the banner: not blank
    picture = shot[y + 120:y + height, x:x + width]
    assert width >= 640 and picture.std() > 20
    bars = shot[y + 70:y + 110, x + 10:x + width // 2]  # top-k bars: green fill, white frame
    assert ((bars[..., 1] > 150) & (bars[..., 0] < 100)).any()
    # the window process gives way to the classifier on busy cores
    children = subprocess.run(["ps", "-ww", "-o", "ni=,args=", "--ppid", str(run.process.pid)],
                              capture_output=True, text=True).stdout.splitlines()
    windows = [int(line.split()[0]) for line in children if "spawn_main" in line]  # not the resource tracker
    assert windows == [WINDOW_NICENESS + os.nice(0)]
    x_tool(display, "xdotool", "key", "--window", window, "q")
    assert run.finish() == 0
    err = run.stderr()
    assert '"stopped_by": "output"' in err and "tfedge run: summary" in err
    assert run.stdout() == ""  # a window run prints no JSON lines
    summary = json.loads(err.split("tfedge run: summary ")[1].splitlines()[0])
    assert summary["window_frames"] > 0 and summary["window_cpu_s"] > summary["window_start_cpu_s"] > 0


def geometry(display, window) -> tuple[int, int, int, int]:
    """(x, y, width, height) of a window, from xdotool."""
    values = dict(line.split("=") for line in
                  x_tool(display, "xdotool", "getwindowgeometry", "--shell", window).split())
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


@real_x
def test_fullscreen_covers_the_screen_and_escape_stops(display, tflite_models, long_video, tmp_path):
    run = Run(display, tflite_models["int8"], long_video, tmp_path, "--fullscreen")
    window, _ = run.wait_for_window()
    deadline = time.monotonic() + 10
    while geometry(display, window) != (0, 0, *SCREEN) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert geometry(display, window) == (0, 0, *SCREEN)
    shot = screenshot(display, tmp_path / "full.png")
    # the square video keeps its aspect ratio: the sides are the window's bars, not the bare root
    assert shot[SCREEN[1] // 2, 5].any() and shot[SCREEN[1] // 2, -5].any() and shot[-3, -3].any()
    x_tool(display, "xdotool", "key", "--window", window, "Escape")
    assert run.finish() == 0 and '"stopped_by": "output"' in run.stderr()


def press_close_button(display, window) -> None:
    """What a window manager sends when the close button is clicked: WM_DELETE_WINDOW (via libX11)."""
    import ctypes
    import ctypes.util

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                    ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                    ("data", ctypes.c_long * 5), ("padding", ctypes.c_long * 24)]  # XEvent's size

    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                               ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    assert connection, f"cannot open {display}"
    event = ClientMessage(type=33, display=connection, window=int(window), format=32,  # 33: ClientMessage
                          message_type=x11.XInternAtom(connection, b"WM_PROTOCOLS", 0))
    event.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(connection, int(window), 0, 0, ctypes.byref(event))
    x11.XFlush(connection)
    x11.XCloseDisplay(connection)


@real_x
def test_the_window_close_button_stops_the_run(display, tflite_models, long_video, tmp_path):
    run = Run(display, tflite_models["int8"], long_video, tmp_path)
    window, _ = run.wait_for_window()
    press_close_button(display, window)
    assert run.finish() == 0 and '"stopped_by": "output"' in run.stderr()


@real_x
def test_a_display_that_goes_away_leaves_the_run_going_headless(display, tflite_models, long_video,
                                                                tmp_path):
    run = Run(display, tflite_models["int8"], long_video, tmp_path)
    run.wait_for_window()
    display.server.terminate()
    deadline = time.monotonic() + 20  # no frame count: under load a run could end before it notices
    while "the display went away" not in run.stderr() and time.monotonic() < deadline:
        assert run.process.poll() is None, f"tfedge run ended: {run.stderr()}"
        time.sleep(0.2)
    time.sleep(0.5)  # a few frames as JSON lines
    run.process.send_signal(signal.SIGTERM)
    assert run.finish(timeout=30) == 0
    assert run.stderr().count("the display went away; running headless") == 1
    lines = run.stdout().splitlines()
    assert len(lines) > 1 and '"stopped_by": "signal"' in lines[-1]  # the JSON lines took over


@real_x
def test_frames_go_through_shared_memory_that_grows_and_is_released(display, monkeypatch):
    monkeypatch.setenv("DISPLAY", display)
    window = WindowProcess()
    assert window.open() is None
    result = {"label": "Bag", "score": 0.9, "fps": 30.0, "inference_ms": 1.5}
    small, large = np.full((120, 160, 3), 90, np.uint8), np.full((480, 640, 3), 90, np.uint8)
    names = []
    for frame in (small, small, large, small):
        assert window.show(result, frame, 0.0)
        names.append(window._frame.memory.name)
        assert (frame == 90).all()  # drawn on the window's copy, never on the run's frame
    assert names[0] == names[1] != names[2] == names[3]  # one block, replaced once by a larger one
    window.close()
    assert window._frame.memory is None and window.cpu_s > 0
    assert not [name for name in names if Path(f"/dev/shm/{name}").exists()]  # unlinked: nothing left


def x_window(display: str, title: bytes, background: int, pid: int) -> None:
    """Map a plain X window (no Qt) named `title` with `background` and _NET_WM_PID `pid`; the
    connection stays open (the window lives until the display ends)."""
    import ctypes
    import ctypes.util

    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XCreateSimpleWindow.restype = ctypes.c_ulong
    x11.XCreateSimpleWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 2 + \
        [ctypes.c_uint] * 3 + [ctypes.c_ulong] * 2
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                    ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    x11.XStoreName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_char_p]
    x11.XMapWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    connection = x11.XOpenDisplay(display.encode())
    window = x11.XCreateSimpleWindow(connection, x11.XDefaultRootWindow(connection), 10, 10, 200, 100, 0, 0,
                                     background)
    x11.XStoreName(connection, window, title)
    value = ctypes.c_long(pid)
    pid_atom = x11.XInternAtom(connection, b"_NET_WM_PID", 0)
    x11.XChangeProperty(connection, window, pid_atom, 6, 32, 0, ctypes.byref(value), 1)  # 6: CARDINAL
    x11.XMapWindow(connection, window)
    x11.XSync(connection, 0)


@real_x
def test_a_black_window_of_ours_is_mapped_again_and_no_other(display, monkeypatch):
    from tfedge.edge.sinks.x11 import map_again_if_unpainted

    monkeypatch.setenv("DISPLAY", display)
    assert not map_again_if_unpainted("tfedge")  # no such window
    x_window(display, b"tfedge", 0x000000, os.getpid() + 1)  # black, another program's
    assert not map_again_if_unpainted("tfedge")
    x_window(display, b"tfedge", 0x3C78C8, os.getpid())  # ours, painted
    assert not map_again_if_unpainted("tfedge")
    x_window(display, b"tfedge", 0x000000, os.getpid())  # ours, black: what Qt leaves when it missed the map
    assert map_again_if_unpainted("tfedge")
    state = x_tool(display, "xwininfo", "-root", "-tree")
    assert state.count('"tfedge"') == 3


def test_the_window_shows_at_most_max_window_fps_frames_a_second():
    class Counting:
        quit = False
        shown = 0

        def show(self, result, frame, changed_at):
            self.shown += 1
            return True

        def poll(self):
            return True

        def close(self):
            pass

    window = Counting()
    sink = OverlaySink(window)
    frame = np.zeros((8, 8, 3), np.uint8)
    started = time.monotonic()
    while time.monotonic() - started < 1.0:  # as fast as a video file goes: thousands of frames
        sink.emit({"label": "Bag", "score": 0.9}, frame)
        time.sleep(0.0005)
    sink.close({})
    # an upper bound only (a loaded machine shows fewer): the newest frame, at most MAX_WINDOW_FPS a second
    assert 1 <= window.shown <= MAX_WINDOW_FPS * (time.monotonic() - started) + 2


def test_fullscreen_with_headless_is_refused(capsys, tflite_models, labelled_video):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--fullscreen"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--fullscreen" in err[0]


def test_two_opencv_builds_are_refused_naming_the_repair(capsys, tflite_models, labelled_video, monkeypatch):
    both = ["opencv-python", "opencv-python-headless"]
    monkeypatch.setattr("tfedge.edge.opencv_builds.installed_opencv", lambda: both)
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 8 and len(err) == 1
    assert "pip uninstall -y opencv-python opencv-python-headless" in err[0]
    assert "pip install opencv-python" in err[0]
    # --headless needs no GUI: it warns and runs
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--max-frames", "3"])
    assert code == 0 and "warning: opencv-python and opencv-python-headless" in capsys.readouterr().err


def test_without_a_display_the_run_is_headless(capsys, tflite_models, labelled_video):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--max-frames", "3"])
    captured = capsys.readouterr()
    assert code == 0 and "no display available; running headless" in captured.err
    assert '"summary"' in captured.out.splitlines()[-1]


def test_a_display_that_cannot_be_reached_says_why_and_runs_headless(capsys, tflite_models, labelled_video,
                                                                      monkeypatch):
    monkeypatch.setenv("DISPLAY", ":54321")  # no X server there
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--max-frames", "3"])
    captured = capsys.readouterr()
    assert code == 0 and "cannot open a window (" in captured.err and "running headless" in captured.err
    assert '"summary"' in captured.out.splitlines()[-1]


def test_every_install_brings_the_gui_build_and_no_extra_brings_the_headless_one():
    from importlib import metadata

    requirements = [r.split(";")[0].strip().lower() for r in metadata.requires("tfedge") or []]
    assert any(r.startswith("opencv-python>=") or r == "opencv-python" for r in requirements)
    assert not [r for r in requirements if r.startswith("opencv-python-headless")
                or r.startswith("opencv-contrib-python")]
    from tfedge.edge.opencv_builds import installed_opencv

    assert installed_opencv() == ["opencv-python"], "another OpenCV build is here: make install repairs it"

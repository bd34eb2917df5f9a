import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside the tests (mjpeg_server)


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    """Runs in these tests are headless unless a test gives a display (test_window.py's Xvfb)."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def slow_video(fashion_dir, tmp_path_factory) -> Path:
    """The held-out images as a 10 FPS video (20 s at real-time speed)."""
    from labelled_video import write_labelled_video

    from tfedge.edge.labelled import list_classes

    items = sorted(((p, label) for label, paths in list_classes(fashion_dir / "test").items() for p in paths),
                   key=lambda item: item[0].name)
    return write_labelled_video(items, tmp_path_factory.mktemp("slow") / "slow.mp4", frame_size=64,
                                frames_per_image=2, fps=10.0)

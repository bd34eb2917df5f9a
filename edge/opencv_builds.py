"""The OpenCV builds installed beside tfedge: each brings its own `cv2`, and two overwrite each
other's files. `tfedge run` refuses to open a window over two (exit 8) and warns with --headless."""

from __future__ import annotations

import sys

from tfedge.edge.distributions import installed_versions

OPENCV_DISTRIBUTIONS = ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
                        "opencv-contrib-python-headless")


def installed_opencv() -> list[str]:
    """The OpenCV distributions installed in this environment (each brings its own `cv2`)."""
    found = installed_versions(OPENCV_DISTRIBUTIONS)
    return [name for name in OPENCV_DISTRIBUTIONS if name in found]


def opencv_repair(names: list[str]) -> str:
    """The commands that leave only OpenCV's GUI build in this environment, replacing `names`."""
    pip = f"{sys.executable} -m pip"
    return f"{pip} uninstall -y {' '.join(names)} && {pip} install opencv-python"


def opencv_conflict() -> str | None:
    """One line naming the repair when more than one OpenCV build shares this environment, else None."""
    names = installed_opencv()
    if len(names) < 2:
        return None
    return (f"{' and '.join(names)} are both installed here and overwrite each other's cv2; repair with: "
            f"{opencv_repair(names)}")

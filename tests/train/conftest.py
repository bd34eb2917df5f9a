"""Fixtures of the train tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_images import write_class_images


@pytest.fixture
def synthetic_dir(tmp_path) -> Path:
    """Three colour classes, 20 images each, 24x24."""
    root = tmp_path / "synthetic"
    for index, name in enumerate(["circle", "square", "star"]):
        write_class_images(root / name, 20, index)
    return root

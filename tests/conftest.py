"""Shared test fixtures: where the real DeepSense data lives, and tool homes kept in tmp."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.storage import read_only_folder, small_disk

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """`../shared/data/deepsense` beside the clone, or $KDCS_SHARED_DATA when set."""
    env = os.environ.get("KDCS_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "deepsense"


@pytest.fixture(scope="session")
def deepsense_scenario5() -> Path:
    """The real scenario-5 folder (GPS + 64-beam power); tests using it skip when it is absent."""
    path = shared_data_root() / "scenario5"
    if not (path / "scenario5.csv").is_file():
        pytest.skip(f"real DeepSense data not found at {path}")
    return path


@pytest.fixture(scope="session")
def deepsense_camera_samples() -> list[Path]:
    """Eight real 960x540 base-station JPEGs (not tied to scenario-5 rows)."""
    folder = shared_data_root() / "scenario5-camera-samples"
    frames = sorted(folder.glob("*.jpg"))
    if not frames:
        pytest.skip(f"real DeepSense camera samples not found at {folder}")
    return frames


@pytest.fixture(autouse=True)
def _tool_homes_in_tmp(tmp_path_factory, monkeypatch):
    """Keep matplotlib, kdcs caches and friends out of the user's home and the working tree."""
    home = tmp_path_factory.getbasetemp() / "tool-homes"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("MPLCONFIGDIR", str(home / "matplotlib"))
    # caches a test builds without naming a folder go to tmp, never into the working tree
    monkeypatch.setenv("KDCS_CACHE_DIR", str(home / "kdcs-cache"))


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    """A 256 KiB tmpfs: anything bigger than that fails to write (skipped where mount is not allowed)."""
    with small_disk(tmp_path / "small-disk", 256 * 1024) as folder:
        if folder is None:
            pytest.skip("mounting a tmpfs is not allowed here (needs root)")
        yield folder


@pytest.fixture
def read_only(tmp_path) -> Iterator[Path]:
    """An empty folder nothing can be written into."""
    try:
        with read_only_folder(tmp_path / "read-only") as folder:
            yield folder
    except RuntimeError as why:
        pytest.skip(str(why))

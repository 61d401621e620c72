"""Full disks and read-only folders: kdcs.storage and the cache build that relies on it.

A full disk is a real 256 KiB tmpfs where mounting is allowed (`full_disk`), and an OSError(ENOSPC)
injected at the write layer everywhere; a read-only folder is a read-only tmpfs (`read_only`).
"""

from __future__ import annotations

import errno

import numpy as np
import pytest

import kdcs.data.cache.build as cache_module
from kdcs.data.cache.build import open_cache, prepare
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.preprocess import PreprocessConfig
from kdcs.storage import StorageError, allocate_npy, check_free_space, missing_folders, remove_empty_folders
from tests.fixtures.scenario_factory import make_scenario

BIG_FRAMES = PreprocessConfig(camera_size=(128, 128), radar_size=(16, 16))  # ~0.4 MB for 12 rows
SMALL_FRAMES = PreprocessConfig(camera_size=(16, 16), radar_size=(8, 8))


@pytest.fixture
def table(tmp_path):
    return read_scenario(make_scenario(tmp_path / "scen" / "ap1", num_sequences=2, sequence_length=6))


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# ------------------------------------------------------------------------------------------- storage


def test_allocating_an_array_on_a_full_disk_raises_instead_of_a_bus_error(full_disk):
    # A memory map of a sparse file would die with SIGBUS at the first write past the free space.
    with pytest.raises(OSError) as caught:
        allocate_npy(full_disk / "big.npy", "uint8", (1024, 1024))
    assert caught.value.errno == errno.ENOSPC


def test_an_allocated_array_is_ready_for_memory_mapped_writes(tmp_path):
    allocate_npy(tmp_path / "a.npy", "float16", (3, 4))
    target = np.load(tmp_path / "a.npy", mmap_mode="r+")
    target[1] = 2.0
    target.flush()
    del target
    assert np.load(tmp_path / "a.npy").tolist()[1] == [2.0] * 4


def test_free_space_check_names_the_folder_and_both_sizes(tmp_path):
    with pytest.raises(StorageError, match=rf"the job needs 1000000000000000.0 MB in {tmp_path}, but only"):
        check_free_space(tmp_path, 10**21, "the job", "free some space")


def test_missing_folders_are_removed_only_while_empty(tmp_path):
    missing = missing_folders(tmp_path / "a" / "b" / "c")
    assert missing == [tmp_path / "a" / "b" / "c", tmp_path / "a" / "b", tmp_path / "a"]
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "keep.txt").write_text("mine")
    remove_empty_folders(missing)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["keep.txt"]


# ------------------------------------------------------------------------------------- cache builds


def test_a_cache_too_big_for_the_disk_is_refused_before_anything_is_written(table, full_disk):
    with pytest.raises(StorageError, match=r"the cache of ap1 needs 0\.4 MB in .*only 0\.3 MB are free"):
        prepare(table, full_disk / "caches" / "ap1", BIG_FRAMES, workers=1)
    assert list(full_disk.iterdir()) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_disk_that_fills_during_the_build_leaves_no_temporary_folder(
    table, full_disk, monkeypatch, workers
):
    # Prepare: the space check passes (another writer fills the disk after it)
    monkeypatch.setattr(cache_module, "check_free_space", lambda *args: None)

    # Execute
    with pytest.raises(StorageError, match=r"cannot write the cache .*: no space left on the device; free"):
        prepare(table, full_disk / "caches" / "ap1", BIG_FRAMES, workers=workers)

    # Assert: no .tmp-PID folder and no created parent folder keeps the disk full
    assert list(full_disk.iterdir()) == []


def test_enospc_at_the_write_layer_keeps_the_previous_cache(table, tmp_path, monkeypatch):
    cache_dir = tmp_path / "caches" / "ap1"
    before = prepare(table, cache_dir, SMALL_FRAMES, workers=1).manifest
    monkeypatch.setattr(cache_module, "allocate_npy", _no_space)

    with pytest.raises(StorageError, match="no space left on the device"):
        prepare(table, cache_dir, SMALL_FRAMES, workers=1, force=True)

    assert open_cache(cache_dir).manifest == before
    assert sorted(p.name for p in cache_dir.parent.iterdir()) == ["ap1"]


def test_a_read_only_cache_folder_is_named(table, read_only):
    with pytest.raises(StorageError, match=rf"cannot write the cache of ap1 in {read_only}: .*read-only"):
        prepare(table, read_only / "ap1", SMALL_FRAMES, workers=1)


def test_a_cache_under_new_folders_leaves_none_of_them_behind(table, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "allocate_npy", _no_space)
    with pytest.raises(StorageError):
        prepare(table, tmp_path / "new" / "caches" / "ap1", SMALL_FRAMES, workers=1)
    assert not (tmp_path / "new").exists()

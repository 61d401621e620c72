"""`proxy: twin`: fed-distill and mutual on proxy windows the centre synthesises from its site's physical
parameters (a tiny synthetic site, its twin with another seed), counted in the ledger."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from kdcs.collab import CollabConfig
from kdcs.config import ConfigError, load_config
from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.jobs.collab import run_collab

TINY_MODEL = ["hidden=16", "feature_size=16", "gps_hidden=16", "beam_embedding_dim=8"]
NODES = "nodes=[{name: n1, ap: ap1, partition: iid}, {name: n2, ap: ap1, partition: iid, model: {modalities: [beam_history]}}]"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The tiny synthetic site with 8 sequences (2 APs; ap1 has camera, radar and GPS)."""
    root = tmp_path_factory.mktemp("twin") / "site"
    synthesize(dataclasses.replace(SynthConfig.tiny(seed=3), num_sequences=8), root, workers=1)
    return root


def tiny_config(site: Path, *extra: str) -> CollabConfig:
    return load_config(
        CollabConfig(),
        overrides=[
            f"data.scenario={site}",
            f"data.cache_root={site.parent / 'cache'}",
            "data.history=4",
            "data.horizon=1",
            "data.split=[0.6,0.2,0.2]",
            "data.preprocess.camera_size=[16,16]",
            *(f"student.{item}" for item in TINY_MODEL),
            "train.num_threads=1",
            "train.batch_size=16",
            "rounds=1",
            "twin_sequences=2",
            NODES,
            *extra,
        ],
    )


def ledger_rows(run: Path) -> list[dict]:
    return list(csv.DictReader((run / "ledger.csv").open()))


@pytest.mark.parametrize("protocol", ["fed-distill", "mutual"])
def test_a_twin_proxy_serves_the_proxy_protocols_and_its_inputs_are_counted(protocol, site, tmp_path):
    results = run_collab(tiny_config(site, f"protocol={protocol}", "proxy=twin"), tmp_path / "run")

    proxy = results["proxy"]
    assert proxy["source"] == "twin" and proxy["seed"] == 4 and proxy["sequences"] == 2  # the site's seed + 1
    assert proxy["windows"] > 0
    twin = json.loads((tmp_path / "run" / "twin" / "scenario" / "manifest.json").read_text())
    assert twin["config"]["seed"] == 4 and twin["config"]["num_sequences"] == 2
    for entry in results["nodes"].values():
        assert 0.0 <= entry["test"]["top1_mean"] <= entry["test"]["top5_mean"] <= 1.0
    proxy_bytes = [r for r in ledger_rows(tmp_path / "run") if "proxy" in r["kind"]]
    assert proxy_bytes and all(int(r["nbytes"]) > 0 for r in proxy_bytes)
    assert {r["node"] for r in proxy_bytes} >= {"n1", "n2"}  # each node got the twin's inputs once


def test_the_twin_is_written_once_and_reused(site, tmp_path):
    shared = tmp_path / "shared-twin"
    first = run_collab(
        tiny_config(site, "protocol=fed-distill", "proxy=twin", f"twin_dir={shared}"), tmp_path / "a"
    )
    again = run_collab(
        tiny_config(site, "protocol=fed-distill", "proxy=twin", f"twin_dir={shared}"), tmp_path / "b"
    )
    assert first["proxy"]["synthesis_seconds"] > 0 and again["proxy"]["synthesis_seconds"] == 0
    assert first["proxy"]["windows"] == again["proxy"]["windows"]


def test_twin_settings_are_checked_before_anything_is_written(site, tmp_path):
    with pytest.raises(ConfigError, match="proxy"):
        run_collab(tiny_config(site, "protocol=fedavg", "proxy=twin"), tmp_path / "a")
    with pytest.raises(ConfigError, match="twin_seed"):
        run_collab(tiny_config(site, "protocol=fed-distill", "proxy=twin", "twin_seed=3"), tmp_path / "b")
    no_gps = recorded_copy(site, "ap2", tmp_path / "camera-only")  # a recorded site without vehicle GPS
    with pytest.raises(ConfigError, match="unit2_loc"):
        run_collab(
            tiny_config(no_gps, "protocol=fed-distill", "proxy=twin", *RECORDED, BEAM_HISTORY_NODES), tmp_path / "c"
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def recorded_copy(site: Path, ap: str, folder: Path) -> Path:
    """One AP folder of the site without the manifest: a DeepSense-layout recording of that AP."""
    shutil.copytree(site / ap, folder)
    return folder


BEAM_HISTORY_NODES = "nodes=[{name: n1, partition: iid, model: {modalities: [beam_history]}}]"
# A DeepSense folder holds one AP: the nodes and the centre name none; the centre keeps half the
# training sequences (3 passes), the twin is fitted on them.
RECORDED = [
    "central.ap=null",
    "proxy_fraction=0.5",
    "nodes=[{name: n1, partition: iid}, {name: n2, partition: iid, model: {modalities: [beam_history]}}]",
]


def test_a_recorded_site_gets_a_twin_fitted_from_the_centres_own_sequences(site, tmp_path):
    recorded = recorded_copy(site, "ap1", tmp_path / "deepsense")

    results = run_collab(tiny_config(recorded, "protocol=fed-distill", "proxy=twin", *RECORDED), tmp_path / "run")

    proxy = results["proxy"]
    assert proxy["source"] == "twin" and proxy["windows"] > 0 and proxy["seed"] == 1
    assert proxy["windows_outside_span"] >= 0  # windows of the twin beyond the recorded stretch, left out
    fit = proxy["site_fit"]
    assert fit["passes"] >= 2 and fit["orientation"]["train"]["samples"] == fit["samples"]
    assert fit["lanes"]["width_m"] > 0 and "mean_abs_beam_error" in fit["orientation"]["val"]
    twin = json.loads((tmp_path / "run" / "twin" / "scenario" / "manifest.json").read_text())
    assert twin["config"]["num_aps"] == 1 and twin["config"]["street"]["ap_poses"]  # the fitted AP pose
    assert twin["config"]["kits"] == [["camera", "radar", "gps"]]  # the recorded AP's sensors
    for entry in results["nodes"].values():
        assert 0.0 <= entry["test"]["top1_mean"] <= entry["test"]["top5_mean"] <= 1.0

"""Unit tests for kdcs.deploy.export: ONNX parity (fp32, int8), metadata, clear errors on bad input.

One tiny GPS + beam-history student is trained and exported once per test session
(`trained_export`); the tracker and replay tests reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from safetensors.torch import save_file

from kdcs.deploy import DeployError, export_onnx, load_exported
from kdcs.deploy.export_metadata import METADATA_FILE
from kdcs.deploy.quantize import top1_agreement
from kdcs.distill.composer import build_composer
from kdcs.distill.trainer import Trainer
from kdcs.models import ModelConfig, build_model
from kdcs.models.weights import save_model_weights
from tests.fixtures.training import make_batchers, quick_config, tiny_model

HISTORY, HORIZON = 4, 2


def trained_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """(run folder, export folder, test batcher) of a tiny trained student, built once per session."""
    root = tmp_path_factory.getbasetemp() / "deploy-trained-student"
    run_dir, export_dir = root / "run", root / "export"
    _, _, test = make_batchers(history=HISTORY, horizon=HORIZON)
    if not (export_dir / METADATA_FILE).is_file():
        train, val, _ = make_batchers(history=HISTORY, horizon=HORIZON)
        model = tiny_model(history=HISTORY, horizon=HORIZON)
        Trainer(
            model, build_composer({"ce": {"weight": 1.0}}), train, val, quick_config(epochs=30), run_dir
        ).fit()
        export_onnx(run_dir, export_dir, calibration_batches=list(test))
    return run_dir, export_dir, test


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return trained_export(tmp_path_factory)


def _test_split(test) -> dict[str, np.ndarray]:
    batches = list(test)
    return {key: torch.cat([b[key] for b in batches]).numpy() for key in ("gps", "beam_history", "target")}


def test_fp32_graph_matches_pytorch_on_the_test_split(exported):
    run_dir, export_dir, test = exported
    split = _test_split(test)
    model = tiny_model(history=HISTORY, horizon=HORIZON, seed=5)
    model.load_state_dict(_weights(run_dir))
    model.eval()

    onnx_logits = load_exported(export_dir).predict(split)

    with torch.inference_mode():
        torch_logits = model({k: torch.from_numpy(v) for k, v in split.items()}).logits.numpy()
    assert onnx_logits.shape == (split["gps"].shape[0], HORIZON + 1, 64)
    assert np.abs(onnx_logits - torch_logits).max() <= 1e-4
    assert (
        torch_logits.argmax(-1) == split["target"]
    ).mean() > 0.3  # trained: predictions are not degenerate


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "best.safetensors"))


def test_int8_agrees_with_fp32_on_at_least_99_percent_of_test_predictions(exported):
    _, export_dir, test = exported
    split = _test_split(test)
    model = load_exported(export_dir)

    agreement = top1_agreement(model.predict(split, "fp32"), model.predict(split, "int8"))

    assert agreement >= 0.99
    assert model.file_bytes("window", "int8") <= model.file_bytes("window", "fp32") * 1.05


def test_metadata_describes_inputs_source_and_parity(exported):
    run_dir, export_dir, _ = exported

    metadata = json.loads((export_dir / METADATA_FILE).read_text())

    assert metadata["modalities"] == ["gps", "beam_history"]
    assert (metadata["history"], metadata["horizon"], metadata["num_beams"]) == (HISTORY, HORIZON, 64)
    assert metadata["inputs"]["gps"] == {"shape": ["batch", HISTORY, 4], "dtype": "float32"}
    assert (
        "gps" in metadata["preprocessing"]["steps"]
        and "mask_threshold" in metadata["preprocessing"]["config"]
    )
    assert metadata["source"]["checkpoint"] == str((run_dir / "best.safetensors").resolve())
    assert metadata["source"]["metrics"]["val"]["top1"]["mean"] > 0
    assert metadata["parity"]["inputs"] == "calibration batches"
    assert metadata["parity"]["fp32_max_abs_diff"] <= 1e-4
    assert metadata["parity"]["int8_top1_agreement_with_fp32"] >= 0.99
    opsets = {entry.domain: entry.version for entry in onnx.load(export_dir / "model.onnx").opset_import}
    assert opsets[""] == metadata["opset"] >= 17
    assert not list(export_dir.glob(".*"))  # no staging or temporary files left behind


def test_a_teacher_checkpoint_is_refused_before_anything_is_written(tmp_path):
    teacher = build_model(ModelConfig(architecture="paper-teacher", image_size=(32, 32), teacher_fc=(16,)))
    save_model_weights(tmp_path / "teacher.safetensors", teacher)

    with pytest.raises(DeployError, match="teacher architecture 'paper-teacher'.*allow_teacher"):
        export_onnx(tmp_path / "teacher.safetensors", tmp_path / "out")

    assert not (tmp_path / "out").exists()


def test_an_unknown_architecture_is_named(tmp_path):
    config = json.dumps({"architecture": "mystery-net", "history": 8})
    save_file({"w": torch.zeros(2)}, str(tmp_path / "best.safetensors"), metadata={"model_config": config})

    with pytest.raises(DeployError, match="unknown architecture 'mystery-net'"):
        export_onnx(tmp_path, tmp_path / "out")


def test_a_corrupt_or_missing_checkpoint_is_named(tmp_path):
    weights = tmp_path / "model.safetensors"
    save_model_weights(weights, tiny_model())
    weights.write_bytes(weights.read_bytes()[:100])

    with pytest.raises(DeployError, match="model.safetensors"):
        export_onnx(weights, tmp_path / "out")
    with pytest.raises(DeployError, match="does not exist"):
        export_onnx(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(DeployError, match="opset 16"):
        export_onnx(weights, tmp_path / "out", opset=16)


def test_a_tampered_graph_file_is_refused_on_load(exported, tmp_path):
    _, export_dir, test = exported
    copy = tmp_path / "export"
    copy.mkdir()
    for path in export_dir.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "model.onnx").write_bytes(b"not a graph")

    with pytest.raises(DeployError, match="model.onnx does not match the sha256"):
        load_exported(copy).predict(_test_split(test))
    with pytest.raises(DeployError, match="not a kdcs export folder"):
        load_exported(tmp_path)


def _radar_student(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Weights of an untrained radar student and one batch as the cache gives it (radar float16)."""
    torch.manual_seed(0)
    config = ModelConfig(
        architecture="radar-student", history=3, horizon=1, radar_size=(8, 8), radar_student_channels=(4, 8)
    )
    save_model_weights(tmp_path / "radar.safetensors", build_model(config))
    radar = (10.0 * np.random.default_rng(0).standard_normal((6, 3, 8, 8))).astype(np.float16)
    return tmp_path / "radar.safetensors", {"radar": radar}


def test_a_radar_student_exports_from_float16_cached_radar(tmp_path):
    weights, batch = _radar_student(tmp_path)

    metadata = export_onnx(weights, tmp_path / "out", int8=False, calibration_batches=[batch])

    assert metadata["parity"]["windows"] == 6 and metadata["parity"]["fp32_max_abs_diff"] <= 1e-4
    assert (tmp_path / "out" / "model.onnx").is_file()


def test_a_failed_export_leaves_no_folder_behind(tmp_path, monkeypatch):
    weights, batch = _radar_student(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kdcs.deploy.export.export_graphs", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_onnx(weights, tmp_path / "out", int8=False, calibration_batches=[batch])

    assert not (tmp_path / "out").exists()

"""docs/extending.md runs as written: every `python` block of each example, in order, on a tiny scenario."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdcs.collab.protocols import PROTOCOLS
from kdcs.distill.losses import LOSS_REGISTRY
from kdcs.models import ARCHITECTURES
from tests.fixtures.scenario_factory import make_scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def sections() -> dict[str, str]:
    """{"preamble": ..., "1": ..., "2": ...}: the markdown of each numbered example."""
    text = DOC.read_text()
    parts = re.split(r"^## (\d+)\. ", text, flags=re.M)
    return {
        "preamble": parts[0],
        **{number: body for number, body in zip(parts[1::2], parts[2::2], strict=True)},
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs") / "scenario"
    make_scenario(
        root / "ap1",
        num_sequences=10,
        sequence_length=12,
        modalities=("camera", "power", "gps", "beam"),
        image_size=(48, 27),
    )
    return root


@pytest.fixture(autouse=True)
def _registries_restored():
    """What an example registers does not leak into other tests."""
    saved = dict(LOSS_REGISTRY), dict(PROTOCOLS), dict(ARCHITECTURES)
    yield
    for registry, before in zip((LOSS_REGISTRY, PROTOCOLS, ARCHITECTURES), saved, strict=True):
        registry.clear()
        registry.update(before)


def run_example(number: str, scenario: Path, workdir: Path) -> dict:
    namespace: dict = {"scenario": scenario, "workdir": workdir}
    for block in BLOCK.findall(sections()["preamble"]) + BLOCK.findall(sections()[number]):
        exec(compile(block, f"{DOC}:example {number}", "exec"), namespace)  # noqa: S102 - the doc's own code
    return namespace


def test_the_doc_has_four_examples_each_with_code():
    found = sections()
    assert [key for key in found if key != "preamble"] == ["1", "2", "3", "4"]
    assert all(BLOCK.findall(found[number]) for number in ("1", "2", "3", "4"))


@pytest.mark.slow
def test_example_1_a_loss_used_from_a_recipe_term(scenario: Path, tmp_path: Path):
    namespace = run_example("1", scenario, tmp_path)

    assert "cosine-kd" in namespace["metrics"]["loss_equation"]


@pytest.mark.slow
def test_example_2_a_protocol_on_the_local_engine(scenario: Path, tmp_path: Path):
    namespace = run_example("2", scenario, tmp_path)

    assert (tmp_path / "fed-median" / "ledger.csv").is_file() and namespace["results"]["rounds"] == 2


@pytest.mark.slow
def test_example_3_an_architecture_trained_by_name(scenario: Path, tmp_path: Path):
    namespace = run_example("3", scenario, tmp_path)

    assert namespace["metrics"]["epochs_run"] == 2


def test_example_4_a_dataset_layout_read_into_the_sample_table(scenario: Path, tmp_path: Path):
    namespace = run_example("4", scenario, tmp_path)

    assert namespace["table"].modalities == ("gps",) and len(namespace["table"]) == 6 * 16

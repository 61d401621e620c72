"""Experiment configs: defaults are the demo, YAML files resolve, bad keys are named before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcs.config import ConfigError
from kdcs.distill.named_recipes import NAMED_RECIPES
from kdcs.experiments.study.budget import budget_notes
from kdcs.experiments.study.config import ExperimentConfig, load_experiment
from kdcs.experiments.study.experiment import resolve_study, teacher_output_runs

EXPERIMENTS = Path(__file__).resolve().parents[2] / "configs" / "experiments"


def test_demo_yaml_is_the_typed_defaults():
    assert load_experiment(EXPERIMENTS / "demo.yaml") == ExperimentConfig()


def test_quick_runs_the_tiny_study_and_yaml_and_set_still_apply_over_it(tmp_path):
    config = load_experiment(EXPERIMENTS / "demo.yaml", ["max_epochs=1"], quick=True)

    _, runs, collabs = resolve_study(config, tmp_path / "quick")
    assert config.name == "demo" and config.scenario.tiny  # demo.yaml names it after --quick applied
    assert all(run.config.train.epochs == 1 for run in runs)
    assert all(run.config.data.history == 4 and run.config.model.horizon == 1 for run in runs)
    assert all(
        c.config.rounds == 1 and [n.name for n in c.config.nodes] == ["node1", "node2"] for c in collabs
    )


def test_demo_resolves_to_the_papers_rows_per_edge_node_type(tmp_path):
    paths, runs, collabs = resolve_study(ExperimentConfig(), tmp_path / "demo")

    ids = [run.id for run in runs]
    assert ids[:2] == ["teacher", "teacher-self-kd"]
    groups = {run.group: run for run in runs if run.group != "teacher"}
    assert set(groups) == {"camera", "camera-L3", "radar", "radar-L3", "gps", "gps-L3"}
    for group in groups:  # every node type at L=8 and L=3, without KD and with at least one recipe
        recipes = {run.recipe for run in runs if run.group == group}
        assert "none" in recipes and len(recipes) >= 2, group
    short = next(run for run in runs if run.group == "camera-L3" and run.recipe != "none")
    assert (short.config.model.history, short.config.data.history) == (3, 8)
    assert short.config.kd.teacher == str(tmp_path / "demo" / "models" / "teacher")
    assert short.needs == ("teacher", "teacher-outputs") and short.teacher_outputs is not None
    assert all(run.config.data.scenario == str(paths.scenario) for run in runs)
    protocols = {c.config.protocol for c in collabs}
    assert {"fedavg", "fed-distill", "local-only"} <= protocols
    fedavg, distill = (next(c for c in collabs if c.config.protocol == p) for p in ("fedavg", "fed-distill"))
    assert fedavg.config.student == distill.config.student and fedavg.config.nodes == distill.config.nodes
    edge = next(c for c in collabs if c.config.protocol == "edge-kd")
    assert edge.config.central.teacher == str(paths.models / "teacher") and edge.needs == ("teacher",)
    assert fedavg.needs == () and fedavg.config.central.teacher is None
    assert not (tmp_path / "demo").exists()  # resolving writes nothing


def test_seeds_replicate_every_run_each_student_taught_by_its_own_seeds_teacher(tmp_path):
    config = load_experiment(overrides=["seeds=[0,1,2]"])
    paths, runs, collabs = resolve_study(config, tmp_path / "study")
    outputs = teacher_output_runs(config, tmp_path / "study")

    assert len(runs) == 3 * len(resolve_study(ExperimentConfig(), tmp_path / "one")[1])
    assert len({run.stage for run in runs}) == len(runs)
    for run in runs:
        assert run.config.train.seed == run.seed and run.stage.endswith(f"-seed{run.seed}")
        if run.recipe != "none":
            assert run.config.kd.teacher == str(paths.models / f"teacher-seed{run.seed}")
            assert run.needs == (f"teacher-seed{run.seed}", f"teacher-outputs-seed{run.seed}")
    assert [o.stage for o in outputs] == [f"teacher-outputs-seed{s}" for s in (0, 1, 2)]
    assert {(c.seed, c.config.seed) for c in collabs} == {(s, s) for s in (0, 1, 2)}
    edge = [c for c in collabs if c.config.protocol == "edge-kd"]
    assert [c.needs for c in edge] == [(f"teacher-seed{s}",) for s in (0, 1, 2)]
    notes = budget_notes(config, runs, collabs, train_windows=2140)
    assert sum(note.startswith("Collaboration run edge-kd") for note in notes) == 1  # once, not per seed


def test_paper_camera_config_resolves_to_the_papers_setting(tmp_path):
    config = load_experiment(EXPERIMENTS / "paper-camera.yaml")
    _, runs, collabs = resolve_study(config, tmp_path / "paper")

    teacher = runs[0].config
    assert teacher.model.architecture == "paper-teacher" and teacher.model.modalities == ("camera_motion",)
    assert teacher.data.preprocess.camera_size == (224, 224) and teacher.data.preprocess.motion_masks
    assert (teacher.data.history, teacher.data.horizon, teacher.train.epochs) == (8, 3, 100)
    assert (teacher.train.optim.name, teacher.train.optim.lr, teacher.train.batch_size) == ("adam", 1e-4, 32)
    students = {run.group: run for run in runs if run.group != "teacher"}
    assert {g: r.config.model.history for g, r in students.items()} == {
        "student-L8": 8,
        "student-L5": 5,
        "student-L3": 3,
    }
    assert all(r.config.model.architecture == "paper-student" for r in students.values())
    assert (
        NAMED_RECIPES["logit"]["kd"]["temperature"] == 4.0 and NAMED_RECIPES["logit"]["kd"]["weight"] == 0.7
    )
    rkd = NAMED_RECIPES["rkd"]["rkd"]
    assert (rkd["distance_weight"], rkd["angle_weight"], rkd["scale"]) == (1.0, 2.0, 10.0)
    assert NAMED_RECIPES["self-kd"]["kd"]["temperature"] == 3.0
    assert {run.recipe for run in runs} == {"none", "logit", "rkd", "self-kd"} and collabs == []


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("teacher.modle.architecture=x", "teacher.modle"),
        (
            "students=[{name: cam, run: {model: {architecture: no-such-net}}}]",
            "students[0].run.model.architecture",
        ),
        ("students=[{name: cam, run: {model: {history: 9}}}]", "students[0].run.model.history"),
        ("recipes=[none, telepathy]", "recipes"),
        ("collab=[{name: x, overrides: {protocol: carrier-pigeon}}]", "protocol"),
        ("collab=[{name: x, overrides: {roundz: 2}}]", "collab[0].overrides.roundz"),
        ("evaluation.scene_model=nobody", "evaluation.scene_model"),
        ("workers=0", "workers"),
        ("students=[{name: a, run: {}}, {name: a, run: {}}]", "students[1].name"),
        ("students=[{name: a, run: {}, recipes: [none, none]}]", "students[0].recipes"),
        ("students=[{name: a, run: {}, recipes: [none, jedi]}]", "students[0].recipes"),
        ("seeds=[]", "seeds"),
        ("seeds=[1, 1]", "seeds"),
        (
            "students=[{name: a, run: {}, recipes: [none], recipe_terms: {logit: {}}}]",
            "students[0].recipe_terms.logit",
        ),
        (
            "students=[{name: a, run: {}, recipes: [none, logit], recipe_terms: {logit: {kd: {tempo: 2}}}}]",
            "students[0].run.kd.terms.kd.tempo",
        ),
    ],
)
def test_bad_experiment_values_are_named_before_anything_is_written(override, named, tmp_path):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        resolve_study(load_experiment(overrides=[override]), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_max_epochs_caps_every_run_and_collaboration_round(tmp_path):
    _, runs, collabs = resolve_study(load_experiment(overrides=["max_epochs=1"]), tmp_path)
    assert {run.config.train.epochs for run in runs} == {1}
    assert {(c.config.rounds, c.config.local_epochs, c.config.central.train.epochs) for c in collabs} == {
        (1, 1, 1)
    }


def test_recipe_terms_tune_one_recipe_of_a_student_and_leave_its_others_alone(tmp_path):
    tuned = "{logit: {task: {weight: 1.0}, kd: {weight: 0.5, temperature: 2.0}}}"
    student = (
        f"students=[{{name: cam, run: {{}}, recipes: [none, logit, cross-modal], recipe_terms: {tuned}}}]"
    )
    _, runs, _ = resolve_study(load_experiment(overrides=[student, "self_kd=null"]), tmp_path)

    kd = {run.recipe: run.config.kd for run in runs if run.group == "cam"}
    assert kd["logit"].terms == {"task": {"weight": 1.0}, "kd": {"weight": 0.5, "temperature": 2.0}}
    assert kd["none"].terms == {} and kd["cross-modal"].terms == {}

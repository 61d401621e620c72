"""Nodes at different access points: a multi-view central teacher for every AP's single-sensor student,
and world-frame fed-distill among nodes at the four APs.

Run: .venv/bin/python benchmarks/bench_multi_ap.py [--work runs/bench-multi-ap] [--seeds 0 1 2]
     [--recipe logit] [--parts teacher world] [--own-teacher-seeds 0] [--json out.json]
     [--world-set KEY=VALUE ... --world-tag NAME]
     [--teacher-set KEY=VALUE ... --teacher-tag NAME] [--teacher-seed N] [--kd-set KEY=VALUE ... --kd-tag NAME]
     [--own-kd]
Default 4-AP street (ap1 camera + radar + GPS, ap2 camera, ap3 radar, ap4 GPS).
teacher part, per seed: the multi-view teacher (configs/train/multi-view-teacher.yaml, every AP's views,
one head per AP), each AP's teacher on its own sensors only (the views the multi-view teacher reads of
that AP, same model and training settings, --teacher-set's model. and train. keys included; on
--own-teacher-seeds, default every seed), and each AP's single-sensor student (its one sensor + its own
beam history) trained alone and distilled from its head of the multi-view teacher of the same seed
(--teacher-seed N: every seed's students from seed N's teacher; --teacher-set overrides the teacher's
config, its folder, its own-sensors teachers' and its students' named after --teacher-tag; --kd-set
overrides the taught students' KD, e.g. kd.terms.kd.temperature=2, their folders tagged --kd-tag;
--own-kd: each student is also distilled, same recipe, from its AP's own-sensors teacher of the teacher
seed, folders student-<ap>-<recipe>-own...). The teachers' best epoch, epochs run and why they stopped,
and the students' validation top-1 gain, are printed beside the test numbers.
world part, per seed: configs/collab/multi-ap.yaml (a node per AP, the same single-sensor students) with
fed-distill in the world frame and with local-only; fedavg's uplink for the same students is computed
(rounds x fp32 weights of every node: fedavg itself refuses nodes at different APs). --world-set
overrides the fed-distill runs' config (e.g. world.fusion=validated kd_weight=0.5; their folders are
named after --world-tag): each node's validation top-5 (its deployed epoch) and position errors
(its own validation windows against its AP's GPS; on the proxy windows against the centre's GPS,
and the consensus's) are printed beside the test numbers, to pick settings on validation.
Finished runs (a folder with metrics.json, or results.json for collab runs with the same resolved
config, the unused `world` section of local-only aside) are reused. Models are selected on validation (early stopping);
every number printed is on the test split, mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_kd import mean_std  # noqa: E402
from kdcs.collab import CollabConfig  # noqa: E402
from kdcs.collab.config import WORLD_FRAME_PROTOCOLS  # noqa: E402
from kdcs.collab.run_folder import CONFIG_YAML, RESULTS_JSON, ROUNDS_CSV  # noqa: E402
from kdcs.config import load_config, to_dict  # noqa: E402
from kdcs.data.ap_geometry import data_geometry  # noqa: E402
from kdcs.data.demo_data import ensure_scenario  # noqa: E402
from kdcs.data.multi_view import MultiViewData  # noqa: E402
from kdcs.data.prepared import prepare_data  # noqa: E402
from kdcs.distill.multi_view import VIEW_MODALITIES  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.distill.trained_model import load_trained_model  # noqa: E402
from kdcs.experiments.report.plots.scene import predict_scene  # noqa: E402
from kdcs.experiments.report.plots.street import ApTrack, plot_street  # noqa: E402
from kdcs.jobs.collab import run_collab  # noqa: E402
from kdcs.jobs.multi_view_teacher import MultiViewRunConfig, run_multi_view_teacher  # noqa: E402
from kdcs.jobs.train import METRICS_JSON, run_training  # noqa: E402

APS = ("ap1", "ap2", "ap3", "ap4")
TEACHER_CONFIG = REPO / "configs" / "train" / "multi-view-teacher.yaml"
COMMON = ["train.progress=false", "train.tensorboard=false", "train.batch_size=32", "train.num_threads=1"]
# every AP's single-sensor student: its one sensor (ap1 has three; its radar is taken) + its beam history
STUDENT_SENSOR = {"ap1": "radar", "ap2": "camera_motion", "ap3": "radar", "ap4": "gps"}
STUDENT_TRAIN = ["train.epochs=40", "train.patience=10", "train.optim.lr=3e-3"]


def student_model(ap: str) -> list[str]:
    sensor = STUDENT_SENSOR[ap]
    architecture = "gps-beam-student" if sensor == "gps" else "radar-student"
    return [f"model.architecture={architecture}", f"model.modalities=[{sensor},beam_history]"]


def own_teacher_overrides(ap: str, data, teacher_set: tuple[str, ...] = ()) -> list[str]:
    """The AP's own-sensors teacher: the multi-view teacher's model and training, on this AP's views;
    `teacher_set` (the multi-view teacher's overrides) reaches it for its `model.` and `train.` keys."""
    modalities = ",".join(m for m in VIEW_MODALITIES if m in data.modalities(ap))  # the teacher's views
    teacher = load_config(MultiViewRunConfig(), TEACHER_CONFIG, list(teacher_set))
    model, train = teacher.model, teacher.train
    forwarded = [o for o in teacher_set if o.startswith(("model.", "train.")) and "modalities" not in o]
    return [
        f"model.architecture={model.architecture}",
        f"model.modalities=[{modalities}]",
        f"model.modality_dropout={model.modality_dropout}",
        f"train.epochs={train.epochs}",
        f"train.patience={train.patience}",
        f"train.optim.lr={train.optim.lr}",
        f"train.optim.weight_decay={train.optim.weight_decay}",
        *forwarded,
    ]


def stop(message: str) -> None:
    """Bad input: one sentence on stderr, exit status 2."""
    print(f"bench_multi_ap.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def cached(folder: Path) -> dict | None:
    return json.loads((folder / METRICS_JSON).read_text()) if (folder / METRICS_JSON).is_file() else None


def train(config: RunConfig, folder: Path, data) -> dict:
    """The run's metrics: reused from its folder, else trained there."""
    metrics = cached(folder) or run_training(config, folder, data=data)
    print(f"done {folder.name}: test top-1 {metrics['test']['top1']['mean']:.3f}", flush=True)
    return metrics


@dataclasses.dataclass(frozen=True)
class TeacherChoice:
    """Which multi-view teacher the students distil from: `overrides` of its config (folder tag `tag`),
    and `seed`, the one teacher seed every student seed distils from (None: each seed its own)."""

    overrides: tuple[str, ...] = ()
    tag: str = ""
    seed: int | None = None

    def folder(self, seed: int) -> str:
        return f"mv-teacher{'-' + self.tag if self.tag else ''}-s{seed}"

    def own_folder(self, ap: str, seed: int) -> str:
        """The AP's own-sensors teacher trained like this multi-view teacher (same tag)."""
        return f"own-teacher{'-' + self.tag if self.tag else ''}-{ap}-s{seed}"

    def student_suffix(self, seed: int) -> str:
        """The taught students' folder tag: the teacher's tag, and its seed where it is not theirs."""
        shared = f"-t{self.seed}" if self.seed is not None and self.seed != seed else ""
        return f"{'-' + self.tag if self.tag else ''}{shared}"


def kd_suffix(kd_set: tuple[str, ...], kd_tag: str) -> str:
    """The taught students' folder tag for KD overrides: --kd-tag (main requires it with --kd-set)."""
    return f"-{kd_tag}" if kd_set else ""


def multi_view_teacher(work: Path, data_overrides: list[str], joined, choice: TeacherChoice, seed: int):
    """The multi-view teacher of `seed`: (its folder, its metrics), reused from its folder, else trained."""
    folder = work / choice.folder(seed)
    overrides = [*data_overrides, *COMMON, f"train.seed={seed}", *choice.overrides]
    config = load_config(MultiViewRunConfig(), TEACHER_CONFIG, overrides)
    metrics = cached(folder) or run_multi_view_teacher(config, folder, data=joined)
    print(
        f"done {folder.name}: best epoch {metrics['best_epoch']} of {metrics['epochs_run']} "
        f"({metrics['stopped_reason']})",
        flush=True,
    )
    return folder, metrics


def own_teacher(
    work: Path, base: list[str], joined, choice: TeacherChoice, ap: str, seed: int, data
) -> tuple[Path, dict]:
    """The AP's own-sensors teacher of `seed`, trained like `choice`'s multi-view teacher: (its folder,
    its metrics), reused from its folder, else trained."""
    folder = work / choice.own_folder(ap, seed)
    overrides = [*base, f"data.ap={ap}", *COMMON, f"train.seed={seed}"]
    config = load_config(
        RunConfig(), overrides=[*overrides, *own_teacher_overrides(ap, joined, choice.overrides)]
    )
    return folder, train(config, folder, data)


def teacher_part(
    work: Path,
    base: list[str],
    per_ap: dict,
    joined,
    seeds: list[int],
    recipe: str,
    own_seeds: list[int],
    choice: TeacherChoice = TeacherChoice(),
    kd_set: tuple[str, ...] = (),
    kd_tag: str = "",
    own_kd: bool = False,
) -> dict:
    """Every run of the multi-view teacher part; {seed: {run name: metrics}}. own_kd: each AP's
    student is also distilled from its AP's own-sensors teacher (of the teacher seed), same recipe."""
    data_overrides = [o for o in base if o.startswith("data.")]
    results: dict = {}
    for seed in seeds:
        runs = results.setdefault(seed, {})
        teacher_seed = seed if choice.seed is None else choice.seed
        teacher_dir, runs["mv-teacher"] = multi_view_teacher(
            work, data_overrides, joined, choice, teacher_seed
        )
        runs["mv-teacher-seed"] = teacher_seed
        for ap in APS:
            data = per_ap[ap]
            at_ap = [*base, f"data.ap={ap}", *COMMON, f"train.seed={seed}"]
            if seed in own_seeds:
                runs[f"own-teacher-{ap}"] = own_teacher(work, base, joined, choice, ap, seed, data)[1]
            student = [*at_ap, *student_model(ap), *STUDENT_TRAIN]
            alone = load_config(RunConfig(), overrides=student)
            runs[f"student-{ap}-alone"] = train(alone, work / f"student-{ap}-alone-s{seed}", data)
            kd = [f"kd.recipe={recipe}", f"kd.teacher={teacher_dir}", *kd_set]
            taught = load_config(RunConfig(), overrides=[*student, *kd])
            suffix = choice.student_suffix(seed) + kd_suffix(kd_set, kd_tag)
            taught_dir = work / f"student-{ap}-{recipe}{suffix}-s{seed}"
            runs[f"student-{ap}-mv"] = train(taught, taught_dir, data)
            if own_kd:
                own_dir, runs[f"own-kd-teacher-{ap}"] = own_teacher(
                    work, base, joined, choice, ap, teacher_seed, data
                )
                kd = [f"kd.recipe={recipe}", f"kd.teacher={own_dir}", *kd_set]
                taught = load_config(RunConfig(), overrides=[*student, *kd])
                taught_dir = work / f"student-{ap}-{recipe}-own{suffix}-s{seed}"
                runs[f"student-{ap}-own"] = train(taught, taught_dir, data)
    return results


def own_teachers(results: dict, ap: str) -> dict:
    """The AP's own-sensors teachers the runs trained, {seed: metrics}: each seed's own, and those the
    own-teacher KD students distilled from (the teacher seed's)."""
    own = {}
    for seed, runs in sorted(results.items()):
        if f"own-teacher-{ap}" in runs:
            own[seed] = runs[f"own-teacher-{ap}"]
        if f"own-kd-teacher-{ap}" in runs:
            own[runs["mv-teacher-seed"]] = runs[f"own-kd-teacher-{ap}"]
    return own


def teacher_report(results: dict, recipe: str) -> dict:
    """Per AP, mean ± std over seeds of test top-1 / top-5 mean for every model; prints the table."""
    seeds = sorted(results)

    def stat(get, over=seeds) -> dict:
        top1 = mean_std([get(results[s])["top1"]["mean"] for s in over])
        top5 = mean_std([get(results[s])["top5"]["mean"] for s in over])
        return {"top1": top1, "top5": top5, "seeds": len(over)}

    teachers = {results[s]["mv-teacher-seed"]: results[s]["mv-teacher"] for s in seeds}
    table: dict = {"teachers": {}}
    for teacher_seed, metrics in teachers.items():
        summary = {
            key: metrics[key] for key in ("best_epoch", "epochs_run", "stopped_reason", "train_seconds")
        }
        summary["val_top1"] = {ap: metrics["val"][ap]["top1"]["mean"] for ap in APS}
        table["teachers"][teacher_seed] = summary
        print(
            f"multi-view teacher seed {teacher_seed}: best epoch {summary['best_epoch']} of "
            f"{summary['epochs_run']} ({summary['stopped_reason']}), {summary['train_seconds']:.0f} s; val top-1 "
            + ", ".join(f"{ap} {v:.3f}" for ap, v in summary["val_top1"].items())
        )
    distinct = sorted(teachers)
    print(
        f"\nmulti-view teacher part, test split, {len(seeds)} student seeds, teacher seed(s) {distinct}, "
        "mean top-1 / top-5 over slots t..t+3"
    )
    for ap in APS:
        top1 = mean_std([teachers[t]["test"][ap]["top1"]["mean"] for t in distinct])
        top5 = mean_std([teachers[t]["test"][ap]["top5"]["mean"] for t in distinct])
        row = {
            "multi-view teacher head": {"top1": top1, "top5": top5, "seeds": len(distinct)},
            "student alone": stat(lambda r: r[f"student-{ap}-alone"]["test"]),  # noqa: B023
            f"student + multi-view KD ({recipe})": stat(lambda r: r[f"student-{ap}-mv"]["test"]),  # noqa: B023
        }
        own = own_teachers(results, ap)
        if own:
            row["own-sensors teacher"] = {
                key: mean_std([m["test"][key]["mean"] for m in own.values()]) for key in ("top1", "top5")
            }
            row["own-sensors teacher"]["seeds"] = len(own)
            for own_seed, metrics in own.items():
                print(
                    f"own-sensors teacher {ap} seed {own_seed}: best epoch {metrics['best_epoch']} of "
                    f"{metrics['epochs_run']} ({metrics['stopped_reason']}), {metrics['train_seconds']:.0f} s; "
                    f"val top-1 {metrics['val']['top1']['mean']:.3f}"
                )
        own_kd = all(f"student-{ap}-own" in results[s] for s in seeds)
        if own_kd:
            row[f"student + own-teacher KD ({recipe})"] = stat(lambda r: r[f"student-{ap}-own"]["test"])  # noqa: B023
        for name, taught in (("", "mv"), ("own KD ", "own")) if own_kd else (("", "mv"),):
            for split, label in (("test", "top1 gain"), ("val", "val top1 gain")):
                row[name + label] = mean_std(
                    [
                        results[s][f"student-{ap}-{taught}"][split]["top1"]["mean"]
                        - results[s][f"student-{ap}-alone"][split]["top1"]["mean"]
                        for s in seeds
                    ]
                )
        table[ap] = row
        print(f"{ap} (student: {STUDENT_SENSOR[ap]} + beam history)")
        for name, value in row.items():
            if name == "top1 gain":
                print(
                    f"  {name:38s} {value[0]:+.3f} ± {value[1]:.3f}  (target >= +0.030: {'met' if value[0] >= 0.03 else 'NOT met'})"
                )
            elif name.endswith("top1 gain"):
                split = "validation" if "val" in name else "test"
                print(f"  {name:38s} {value[0]:+.3f} ± {value[1]:.3f}  ({split} split)")
            else:
                print(
                    f"  {name:38s} top1 {value['top1'][0]:.3f} ± {value['top1'][1]:.3f}  "
                    f"top5 {value['top5'][0]:.3f} ± {value['top5'][1]:.3f}  ({value['seeds']} seeds)"
                )
    fronthaul = results[seeds[0]]["mv-teacher"]["fronthaul_bytes"]
    print(f"fronthaul (raw views + labels of the train and val instants, to the centre): {fronthaul:,} bytes")
    return {"aps": table, "fronthaul_bytes": fronthaul}


COLLAB_CONFIG = REPO / "configs" / "collab" / "multi-ap.yaml"
WORLD_PROTOCOLS = ("fed-distill", "local-only")


# what local-only never reads: it exchanges nothing
UNUSED_BY_LOCAL_ONLY = ("kd_weight", "kd_temperature", "distill_epochs", "consensus")


def comparable(config: CollabConfig) -> dict:
    """The config as it decides a run's results: the `world` section only where the protocol uses it,
    the distillation keys not for local-only."""
    plain = to_dict(config)
    if config.protocol not in WORLD_FRAME_PROTOCOLS:
        plain.pop("world")
    if config.protocol == "local-only":
        for key in UNUSED_BY_LOCAL_ONLY:
            plain.pop(key)
    return plain


def world_run(folder: Path, config: CollabConfig) -> dict:
    """The run's results.json (and its last rounds.csv rows, its diagnostics): reused when the folder
    holds a finished run of the same config, else run there."""
    done = folder / RESULTS_JSON
    if done.is_file():
        previous = load_config(CollabConfig(), folder / CONFIG_YAML)
        if comparable(previous) != comparable(config):
            stop(f"{folder} holds a run of another config; remove it or choose another --work")
    else:
        run_collab(config, folder)
    results = json.loads(done.read_text())
    with (folder / ROUNDS_CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    last = max(int(row["round"]) for row in rows)
    results["final_val"] = {row["node"]: row for row in rows if int(row["round"]) == last}
    results["val_position_m"] = {  # the last round that measured it (the final ack does not)
        row["node"]: float(row["val_position_m"]) for row in rows if row.get("val_position_m")
    }
    print(f"done {folder.name}", flush=True)
    return results


def world_part(work: Path, base: list[str], seeds: list[int], world_set: list[str], tag: str) -> dict:
    """Every collaborative run of the world part; {seed: {protocol: results.json + final_val}}."""
    results: dict = {}
    for seed in seeds:
        for protocol in WORLD_PROTOCOLS:
            extra = world_set if protocol == "fed-distill" else []
            name = f"collab-{protocol}{'-' + tag if tag and extra else ''}-s{seed}"
            overrides = [*base, f"seed={seed}", f"protocol={protocol}", "train.progress=false", *extra]
            config = load_config(CollabConfig(), COLLAB_CONFIG, overrides)
            results.setdefault(seed, {})[protocol] = world_run(work / name, config)
    return results


def world_report(results: dict) -> dict:
    """Per node, mean ± std over seeds of test top-1 / top-5 for both protocols; uplink bytes."""
    seeds = sorted(results)
    first = results[seeds[0]]["fed-distill"]
    table: dict = {}
    print(f"\nworld part, test split, {len(seeds)} seeds, mean top-1 / top-5 over slots t..t+3")
    for node, entry in first["nodes"].items():
        row = {}
        for protocol in WORLD_PROTOCOLS:
            row[protocol] = {
                key: mean_std([results[s][protocol]["nodes"][node]["test"][f"{key}_mean"] for s in seeds])
                for key in ("top1", "top5")
            }
            row[protocol]["val_top5"] = mean_std(
                [float(results[s][protocol]["final_val"][node]["val_top5"]) for s in seeds]
            )
        gains = [
            results[s]["fed-distill"]["nodes"][node]["test"]["top5_mean"]
            - results[s]["local-only"]["nodes"][node]["test"]["top5_mean"]
            for s in seeds
        ]
        row["top5 gain"] = mean_std(gains)
        table[node] = row
        print(f"{node} ({entry['ap']}, {'+'.join(entry['modalities'])})")
        for protocol in WORLD_PROTOCOLS:
            value = row[protocol]
            print(
                f"  {protocol:12s} top1 {value['top1'][0]:.3f} ± {value['top1'][1]:.3f}  "
                f"top5 {value['top5'][0]:.3f} ± {value['top5'][1]:.3f}  "
                f"(val top5 {value['val_top5'][0]:.3f} ± {value['val_top5'][1]:.3f})"
            )
        gain = row["top5 gain"]
        print(
            f"  top5 gain    {gain[0]:+.3f} ± {gain[1]:.3f}  (target > 0: {'met' if gain[0] > 0 else 'NOT met'})"
        )
    table["position_error_m"] = position_report(results)
    uplink = mean_std([float(results[s]["fed-distill"]["bytes"]["up"]) for s in seeds])
    fedavg = first["rounds"] * sum(4 * entry["parameters"] for entry in first["nodes"].values())
    print(f"uplink: world-frame fed-distill {uplink[0]:,.0f} bytes; fedavg (computed) {fedavg:,} bytes")
    return {"nodes": table, "uplink_bytes": uplink, "fedavg_uplink_bytes": fedavg}


def position_report(results: dict) -> dict:
    """fed-distill's position errors (RMS distance, m), mean over seeds: each node's on its own
    validation windows (last round that measured it; nodes whose AP logs GPS), and on the proxy
    windows of the last round against the centre's GPS, each node's upload and the consensus."""
    runs = [results[s]["fed-distill"] for s in sorted(results)]
    report: dict = {"val": {}, "proxy": {}}
    for node in runs[0]["nodes"]:
        val = [r["val_position_m"][node] for r in runs if node in r["val_position_m"]]
        if val:
            report["val"][node] = mean_std(val)
    last = [r["diagnostics"]["world_position_error_m"][-1] for r in runs if "diagnostics" in r]
    if last:
        for node in last[0]["nodes"]:
            report["proxy"][node] = mean_std([entry["nodes"][node] for entry in last])
        report["proxy"]["consensus"] = mean_std([entry["fused"] for entry in last])
        report["fused_nodes"] = last[0]["fused_nodes"]
    print("position error (RMS m): " + ", ".join(f"{n} val {v[0]:.2f}" for n, v in report["val"].items()))
    print("  proxy, last round: " + ", ".join(f"{n} {v[0]:.2f}" for n, v in report["proxy"].items()))
    return report


# per-axis position errors (m) the geometry ceiling is also measured at: how precise the consensus
# must be for its soft labels to beat a student
CEILING_NOISE_M = (0.0, 0.5, 1.0, 2.0)


def geometry_ceiling(scenario: Path, per_ap: dict) -> dict:
    """What world-frame knowledge could give at best: each AP's beams ranked by their expected gain
    toward the vehicle's true position (ground truth), plus Gaussian noise of each CEILING_NOISE_M
    per axis (the spread the gains assume), against the AP's labels at the current slot of its test
    windows. Printed beside the world part: the gap to it is what imprecise positions cost."""
    truth = json.loads((Path(scenario) / "ground_truth.json").read_text())["columns"]
    where = {int(index): k for k, index in enumerate(truth["index"])}
    east, north = np.asarray(truth["tx_x_m"]), np.asarray(truth["tx_y_m"])
    ceiling: dict = {}
    for ap, data in per_ap.items():
        rows = data.windows["test"].end_rows
        at = np.array([where[int(i)] for i in np.asarray(data.cache.arrays["index"])[rows]])
        true = np.stack([east[at], north[at]], axis=1)
        labels = np.asarray(data.cache.arrays["beam"], dtype=np.int64)[rows]
        geometry, rng = data_geometry(data)[0], np.random.default_rng(0)
        for noise in CEILING_NOISE_M:
            seen = true + rng.normal(scale=noise, size=true.shape)
            gains = geometry.expected_beam_gains(seen, np.full(true.shape, max(noise, 0.1)))
            ranked = np.argsort(-gains, axis=1)
            top1, top5 = ((ranked[:, :k] == labels[:, None]).any(axis=1).mean() for k in (1, 5))
            ceiling.setdefault(ap, {})[f"{noise:g} m"] = {"top1": float(top1), "top5": float(top5)}
        print(
            f"geometry ceiling {ap} (slot t, true position + per-axis noise -> beam gains): "
            + ", ".join(f"{k} top1 {v['top1']:.3f} top5 {v['top5']:.3f}" for k, v in ceiling[ap].items())
        )
    return ceiling


def street_plot(
    work: Path, scenario: Path, per_ap: dict, recipe: str, seed: int, path: Path, suffix: str = ""
) -> Path:
    """The street with the four APs, one test sequence's vehicle track (ground truth) and, at each AP,
    the top-1 beam of its student taught by the multi-view teacher (seed `seed`) against the true beam."""
    test = per_ap["ap1"].windows["test"]
    sequences, counts = np.unique(test.seq_ids, return_counts=True)
    positions = np.flatnonzero(test.seq_ids == sequences[np.argmax(counts)])
    truth = json.loads((Path(scenario) / "ground_truth.json").read_text())["columns"]
    where = {int(index): k for k, index in enumerate(truth["index"])}
    shown = []
    for ap in APS:
        data = per_ap[ap]
        windows = data.windows["test"].subset(positions)
        rows = windows.end_rows
        indices = np.asarray(data.cache.arrays["index"])[rows]
        if ap == "ap1":
            first = indices
            track = np.array(
                [[truth["tx_x_m"][where[int(i)]], truth["tx_y_m"][where[int(i)]]] for i in indices]
            )
        elif not np.array_equal(indices, first):
            stop(f"{ap}'s test windows are not at ap1's instants; the street plot needs both")
        model = load_trained_model(work / f"student-{ap}-{recipe}{suffix}-s{seed}")
        predicted = predict_scene(model, data, windows)[:, 0]
        true = np.asarray(data.cache.arrays["beam"], dtype=np.int64)[rows]
        label = f"{STUDENT_SENSOR[ap]} student + multi-view KD"
        shown.append(ApTrack(data_geometry(data)[0], predicted, true, label))
    title = f"Default street, test sequence {int(sequences[np.argmax(counts)])} ({len(positions)} slots), seed {seed}"
    return plot_street(track, shown, title, path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-multi-ap"))
    parser.add_argument(
        "--scenario", type=Path, help="an existing default scenario (else written under --work)"
    )
    parser.add_argument("--cache", type=Path, help="cache root (default: under --work)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipe", default="logit", help="KD recipe of the taught students")
    parser.add_argument("--parts", nargs="+", choices=("teacher", "world"), default=["teacher", "world"])
    parser.add_argument(
        "--own-teacher-seeds", type=int, nargs="*", help="seeds of the own-sensors teachers (default: all)"
    )
    parser.add_argument("--plot", type=Path, help="write the street plot (teacher part, first seed) here")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--world-set", nargs="*", default=[], help="overrides of the world part's fed-distill runs"
    )
    parser.add_argument("--world-tag", default="", help="folder tag of the fed-distill runs with --world-set")
    parser.add_argument(
        "--teacher-set", nargs="*", default=[], help="overrides of the multi-view teacher's config"
    )
    parser.add_argument("--teacher-tag", default="", help="folder tag of teachers with --teacher-set")
    parser.add_argument(
        "--own-kd",
        action="store_true",
        help="also distil each student from its AP's own-sensors teacher (of the teacher seed)",
    )
    parser.add_argument("--kd-set", nargs="*", default=[], help="overrides of the taught students' KD")
    parser.add_argument("--kd-tag", default="", help="folder tag of the taught students with --kd-set")
    parser.add_argument(
        "--teacher-seed",
        type=int,
        help="every student seed distils from this seed's teacher (default: its own)",
    )
    args = parser.parse_args()
    # checked before the scenario is written; parser.error exits 2
    if args.teacher_set and not args.teacher_tag:
        parser.error("--teacher-set needs --teacher-tag (the teachers' folders are named after it)")
    if args.kd_set and not args.kd_tag:
        parser.error("--kd-set needs --kd-tag (the taught students' folders are named after it)")
    scenario = args.scenario or ensure_scenario(args.work / "scenario")[0]
    base = [f"data.scenario={scenario}", f"data.cache_root={args.cache or args.work / 'cache'}"]
    report = {}
    if "teacher" in args.parts:
        data_config = load_config(RunConfig(), overrides=base).data
        per_ap = {ap: prepare_data(dataclasses.replace(data_config, ap=ap)) for ap in APS}
        joined = MultiViewData.join(per_ap, data_config.split)
        own_seeds = args.seeds if args.own_teacher_seeds is None else args.own_teacher_seeds
        choice = TeacherChoice(tuple(args.teacher_set), args.teacher_tag, args.teacher_seed)
        kd_set, seed = tuple(args.kd_set), args.seeds[0]
        suffix = choice.student_suffix(seed) + kd_suffix(kd_set, args.kd_tag)  # the plot's students
        runs = teacher_part(
            args.work,
            base,
            per_ap,
            joined,
            args.seeds,
            args.recipe,
            own_seeds,
            choice,
            kd_set,
            args.kd_tag,
            args.own_kd,
        )
        report["multi_view_teacher"] = teacher_report(runs, args.recipe)
        if args.plot:
            plot = street_plot(args.work, scenario, per_ap, args.recipe, seed, args.plot, suffix)
            print(f"wrote {plot}")
    if "world" in args.parts:
        report["world_frame"] = world_report(
            world_part(args.work, base, args.seeds, args.world_set, args.world_tag)
        )
        data_config = load_config(RunConfig(), overrides=base).data
        per_ap = {ap: prepare_data(dataclasses.replace(data_config, ap=ap)) for ap in APS}
        report["world_frame"]["geometry_ceiling"] = geometry_ceiling(scenario, per_ap)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

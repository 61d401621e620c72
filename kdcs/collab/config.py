"""Typed configuration of one collaborative-learning run: the centre, the K edge nodes, the protocol.

Everything is described in one file (YAML overrides of these defaults, `kdcs.config.load_config`):
the multi-AP scenario and windowing (`data`, the same for every node, so a time instant is one
window everywhere), the central node, the edge nodes (sensor folder, student, partition), the
protocol and its payload encoding, the runner and the faults to inject.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from kdcs.collab.encodings import ENCODING_NAMES, EncodingOptions
from kdcs.collab.encodings.defaults import default_encoding
from kdcs.config import merge
from kdcs.data.ap_geometry import CodebookSpec
from kdcs.data.prepared import DataConfig
from kdcs.distill.train_config import TrainConfig
from kdcs.models import ModelConfig

ENCODINGS = ("auto", *ENCODING_NAMES)
PARTITIONS = ("ap", "iid", "dirichlet")
RUNNERS = ("sequential", "processes")
FAULT_KINDS = ("crash", "hang", "nan", "garbage")
ENGINES = ("local", "flower")
PROXY_SOURCES = ("real", "twin")
TWIN_PROTOCOLS = ("fed-distill", "mutual")  # the protocols whose proxy windows need nothing but inputs
KNOWLEDGE_FRAMES = ("beam", "world")
# the protocols that exchange positions in the world frame
WORLD_FRAME_PROTOCOLS = ("fed-distill", "mutual")
# local-only exchanges nothing and multi-view-kd raw inputs: either frame leaves them as they are, so a
# world-frame config also runs its baseline and its centre-to-edge mode
FRAME_FREE_PROTOCOLS = ("local-only", "multi-view-kd")


@dataclass(frozen=True)
class WorldConfig:
    """Knowledge in the shared physical frame (`knowledge_frame: world`, `kdcs.collab.world_frame`).

    gain_power: soft labels are each AP's expected beam gain toward the received positions, raised to
        this power (at the KD temperature): 1 keeps the beam pattern's width (a neighbour beam at
        0.9 of the peak), higher sharpens it.
    position_weight: weight of the position term (position-nll) next to the task and KD terms, on
        the node's own windows (toward its AP's vehicle GPS, where it logs one) and on proxy windows
        (toward the received positions).
    codebook: the array and codebook assumed for an AP whose scenario does not record them
        (DeepSense), whose orientation is then fitted on the node's own training windows.
    fusion: how received positions are fused. "precision": every node's estimate, weighted by the
        spread it predicts; "validated": only nodes that validated their position output on their own
        validation windows against their AP's GPS, each weighted by the inverse of its validated
        mean squared error per slot and axis (every node as "precision" when none could validate).
    gps_std_m: the spread of a GPS fix as a position target on a node's own windows (m): a student's
        predicted spread cannot fall below it, which bounds the position term's gradients.
    """

    gain_power: float = 6.0
    # 0.1, validated and 1 m: picked on validation (benchmarks/bench_multi_ap.py, README "Nodes at
    # different access points"); at position_weight 1 the position term slowed the GPS nodes' beam task
    position_weight: float = 0.1
    codebook: CodebookSpec = field(default_factory=CodebookSpec)
    fusion: Literal["precision", "validated"] = "validated"
    gps_std_m: float = 1.0


@dataclass(frozen=True)
class NodeConfig:
    """One edge node (an access point).

    name: unique node name (used in the ledger, rounds.csv and results.json).
    ap: the scenario sub-folder holding this node's sensors (e.g. "ap3"); None = the central AP.
    partition: "ap" = every window of its AP; "iid" / "dirichlet" = a share of the train sequences of
        its AP, dealt among all nodes of that AP with the same partition (val and test stay whole).
    model: ModelConfig overrides merged over the run's `student` (e.g. {"architecture": "radar-student"}).
    neighbours: peers for the "mutual" protocol; empty = every other node.
    """

    name: str = ""
    ap: str | None = None
    partition: Literal["ap", "iid", "dirichlet"] = "ap"
    model: dict[str, Any] = field(default_factory=dict)
    neighbours: tuple[str, ...] = ()


@dataclass(frozen=True)
class CentralConfig:
    """The central node: a full-sensor AP view, the teacher it trains, and its own student.

    ap: scenario sub-folder the centre sees (the full sensor kit).
    model: the teacher (central-kd, edge-kd).
    train: the teacher's training (epochs etc.).
    student: ModelConfig overrides over the run's `student` for the central student of ensemble-to-central.
    teacher: a trained teacher (`kdcs train` run folder or weights file) used as is instead of
        training `model`: train the large model once, then run every protocol against it.
    train_on: what the centre's teacher (and central-kd's students) train on: "site", every
        training window of its AP through its own sensors (a full-sensor centre observing the whole
        site), or "reserved", only the sequences it keeps for itself (the proxy pool), where the
        centre reads the same sensors as its nodes and the rest is theirs (e.g. real scenario 5).
    """

    ap: str | None = "ap1"
    # modalities None: those of the architecture, so changing only the architecture changes them too
    model: ModelConfig = field(default_factory=lambda: ModelConfig(architecture="multimodal-teacher"))
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=10, progress=False, tensorboard=False, patience=None)
    )
    student: dict[str, Any] = field(default_factory=dict)
    teacher: str | None = None
    train_on: Literal["site", "reserved"] = "site"


@dataclass(frozen=True)
class FaultConfig:
    """A fault injected on purpose (tests, demonstrations): node `node` in round `round`.

    kind: "crash" (node_step raises), "hang" (never answers: the runner times it out),
        "nan" (its reply carries NaN values), "garbage" (its reply bytes are not a payload).
    """

    node: str = ""
    round: int = 1
    kind: Literal["crash", "hang", "nan", "garbage"] = "crash"


@dataclass(frozen=True)
class FlowerConfig:
    """The Flower engine (engine=flower): a SuperLink, one SuperNode per edge node, `flwr run`.

    superlink: "host:port" of a running SuperLink to attach to; None = start one here on loopback.
    host: the interface the SuperLink started here listens on (0.0.0.0: every interface, for
        SuperNodes on other hosts; refused without TLS).
    port: the port of the SuperLink started here (0 = a free port chosen at start, so runs in
        parallel never collide).
    supernodes: start one SuperNode per edge node here. False = they run elsewhere, each started
        with --node-config 'node-name="<node name>"' against this run's SuperLink.
    join_timeout_s: how long the ServerApp waits for every node to join before round 1.
    tls: "off" (--insecure), "auto" (a throw-away CA and keys in <run>/flower/credentials/) or
        "files" (ca_certfile, and certfile + keyfile of a SuperLink started here: PEM files).
    tls_hosts: host names or IPs besides loopback that the auto certificate is valid for.
    node_auth: the SuperLink admits only SuperNodes whose public key kdcs registered; node_keys:
        folder of <node>.pub (and <node>.key for SuperNodes started here) when tls="files".
    See `kdcs.collab.flower.security`.
    Relative paths in the config resolve against each Flower process's working directory: that of
    `kdcs collab` for the processes it starts.
    """

    superlink: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    supernodes: bool = True
    join_timeout_s: float = 120.0
    tls: Literal["off", "auto", "files"] = "off"
    ca_certfile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    tls_hosts: tuple[str, ...] = ()
    node_auth: bool = False
    node_keys: str | None = None


@dataclass(frozen=True)
class CollabConfig:
    """One collaborative run.

    protocol: a key of `kdcs.collab.protocols.PROTOCOLS`.
    engine: "local" (in-process runner) or "flower" (a Flower deployment on loopback, see `flower`;
        `runner` and `workers` then do not apply: every node is its own SuperNode process).
    rounds: communication rounds. local_epochs: epochs of each round's training segment; a node's
        training across rounds is one run of (rounds + 1) segments (see `kdcs.collab.protocol`).
    min_epoch_steps: a node's training epoch takes at least this many optimiser steps (a node with
        few windows goes round them again), so nodes of every size train the same number of steps
        per round; 0 = one pass over the node's windows.
    kd_weight: weight w of the KD term toward received knowledge in a node's training loss
        (task + w * KD): on proxy windows at every step (fed-distill, mutual, ensemble-to-central's
        student), on the node's own windows (edge-kd, central-kd).
    kd_temperature: T of those KD terms (logit-kd, dml, multi-teacher).
    distill_epochs: passes over the proxy windows each training epoch takes at least (a node with
        few windows of its own then still distils as much); 0 = received knowledge is not used.
    consensus: fed-distill's soft labels: the mean of the nodes' probabilities ("mean"), or weighted
        by each node's number of training windows ("windows", as FedAvg weights its models).
    payload_encoding: how tensors travel (`kdcs.collab.encodings`): "auto" (the protocol's measured
        default: "sqrt-lzma" for soft labels, fp32 for weights), "fp32", "fp16", "int8" (soft labels as
        log-probabilities), "topk" (top-k logits + flat fill, exact at T=1 only), "topk-tail" (top-k at
        kd_temperature + the tail's mass), "beam-dct" (a few cosines of the log-profile over the beams),
        "sqrt-lzma" (sqrt-probabilities at kd_temperature, rounded, LZMA-compressed); the last four send
        weights as fp32. topk: k of "topk" and "topk-tail". payload_sqrt_levels: L of "sqrt-lzma" (mean KL
        at T about 64 / (6 L^2)). payload_dct_coefficients: cosines per slot of "beam-dct".
    proxy_fraction: share of the central AP's training sequences the centre keeps for itself before
        its nodes are partitioned: the proxy set (`kdcs.collab.proxy_set`), disjoint from every
        node's share (at every AP when nodes may sit at any AP: the centre keeps those instants
        wherever they were recorded). proxy_windows: at most this many of their windows form the proxy set.
    proxy: where fed-distill's and mutual's proxy windows come from: "real" (the centre's reserved
        sequences) or "twin" (a synthetic scenario of the site with the site's physical parameters and
        another seed, `kdcs.collab.twin_proxy`; the reserved sequences then stay out of the nodes' pool
        all the same, so both sources train the nodes on the same shares). twin_seed: the twin's seed
        (None = the site's + 1). twin_sequences: sequences the twin holds. twin_dir: where the twin is
        written (None = <run folder>/twin); a twin of the same config found there is reused.
    seed: initial weights, shuffling, the proxy batches. partition_seed: the seed that deals the data
        (the centre's sequences and the node shares); None = `seed`. Fix it to repeat a run over
        training seeds on one split.
    knowledge_frame: what fed-distill and mutual exchange: "beam" (logits over the beams of the one
        AP every node sits at) or "world" (vehicle positions with uncertainty in the shared metric
        frame, which each node turns into soft labels over its own AP's codebook: nodes may sit at
        different APs; students predict positions too, `model.position_output`). world: its settings.
    dirichlet_alpha: skew of "dirichlet" partitions. node_timeout_s: a node slower than this is missing.
    runner: "sequential" (nodes in turn) or "processes" (one worker process per node step).
    workers: concurrent worker processes (None = CPU count).
    max_reply_bytes: a node's reply larger than this is rejected before it is decoded
        (`kdcs.collab.reply_screen`); the largest legitimate reply is a student's weights.
    """

    name: str = "collab"
    engine: Literal["local", "flower"] = "local"
    protocol: str = "fedavg"
    rounds: int = 3
    local_epochs: int = 1
    min_epoch_steps: int = 32
    kd_weight: float = 1.0
    kd_temperature: float = 1.0
    distill_epochs: int = 3
    consensus: Literal["mean", "windows"] = "windows"
    payload_encoding: Literal[
        "auto", "fp32", "fp16", "int8", "topk", "topk-tail", "beam-dct", "sqrt-lzma"
    ] = "auto"
    topk: int = 8
    payload_sqrt_levels: int = 24
    payload_dct_coefficients: int = 12
    proxy_fraction: float = 0.2
    proxy_windows: int = 512
    knowledge_frame: Literal["beam", "world"] = "beam"
    world: WorldConfig = field(default_factory=WorldConfig)
    proxy: Literal["real", "twin"] = "real"
    twin_seed: int | None = None
    twin_sequences: int = 24
    twin_dir: str | None = None
    dirichlet_alpha: float = 0.5
    node_timeout_s: float = 600.0
    seed: int = 0
    partition_seed: int | None = None
    runner: Literal["sequential", "processes"] = "sequential"
    workers: int | None = None
    max_reply_bytes: int = 64 * 2**20
    data: DataConfig = field(default_factory=DataConfig)
    student: ModelConfig = field(default_factory=lambda: ModelConfig(architecture="gps-beam-student"))
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(progress=False, tensorboard=False, patience=None)
    )
    central: CentralConfig = field(default_factory=CentralConfig)
    nodes: tuple[NodeConfig, ...] = ()
    faults: tuple[FaultConfig, ...] = ()
    flower: FlowerConfig = field(default_factory=FlowerConfig)


def payload_codec(config: CollabConfig) -> tuple[str, EncodingOptions]:
    """The payload encoding this run's tensors travel in (with "auto" resolved) and its settings."""
    name = default_encoding(config.protocol) if config.payload_encoding == "auto" else config.payload_encoding
    options = EncodingOptions(
        topk=config.topk,
        temperature=config.kd_temperature,
        sqrt_levels=config.payload_sqrt_levels,
        dct_coefficients=config.payload_dct_coefficients,
    )
    return name, options


def node_model_config(config: CollabConfig, node: NodeConfig) -> ModelConfig:
    """The node's student: the run's `student` with the node's overrides (type-checked); in the world
    frame it also predicts positions."""
    index = [n.name for n in config.nodes].index(node.name)
    model = merge(config.student, dict(node.model), prefix=f"nodes[{index}].model")
    if config.knowledge_frame == "world" and config.protocol in WORLD_FRAME_PROTOCOLS:
        model = dataclasses.replace(model, position_output=True)
    return model


def node_ap(config: CollabConfig, name: str) -> str | None:
    """The AP of node `name` (its `ap`, or the centre's)."""
    node = next(n for n in config.nodes if n.name == name)
    return node.ap if node.ap is not None else config.central.ap


def central_student_config(config: CollabConfig) -> ModelConfig:
    return merge(config.student, dict(config.central.student), prefix="central.student")


def with_epochs(train: TrainConfig, epochs: int, seed: int) -> TrainConfig:
    """A node's per-step training config: `epochs` epochs, a seed of its own, no early stop."""
    return dataclasses.replace(train, epochs=max(epochs, 1), seed=seed, patience=None)

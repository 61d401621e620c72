"""Checks of a CollabConfig that need the protocols: one sentence naming the key or node, raised before
anything is written. Kept apart from `kdcs.collab.config`, which the protocols import, so that neither
imports the other."""

from __future__ import annotations

from kdcs.collab.config import (
    ENGINES,
    FRAME_FREE_PROTOCOLS,
    KNOWLEDGE_FRAMES,
    PROXY_SOURCES,
    TWIN_PROTOCOLS,
    WORLD_FRAME_PROTOCOLS,
    CollabConfig,
    FlowerConfig,
    central_student_config,
    node_model_config,
)
from kdcs.collab.flower.security import check_flower_security
from kdcs.collab.protocols import PROTOCOLS, protocol_class
from kdcs.config import ConfigError
from kdcs.distill.train_config import check_device
from kdcs.models import resolve_config


def validate_collab_config(config: CollabConfig) -> None:
    """Raise ConfigError (one sentence naming the key or node) before anything is written."""
    if config.engine not in ENGINES:
        raise ConfigError(f"config key 'engine': unknown {config.engine!r}; known: {', '.join(ENGINES)}")
    if config.protocol not in PROTOCOLS:
        raise ConfigError(
            f"config key 'protocol': unknown {config.protocol!r}; known: {', '.join(PROTOCOLS)}"
        )
    if not config.data.scenario:
        raise ConfigError("config key 'data.scenario' must name a multi-AP scenario root")
    if not config.nodes:
        raise ConfigError("config key 'nodes' must list at least one edge node")
    names = [node.name for node in config.nodes]
    for index, name in enumerate(names):
        if not name or names.count(name) > 1 or name == "central":
            raise ConfigError(
                f"config key 'nodes[{index}].name' ({name!r}) must be unique, non-empty, not 'central'"
            )
    _check_ranges(config)
    _check_proxy(config)
    for fault in config.faults:
        if fault.node not in names:
            raise ConfigError(f"config key 'faults': node {fault.node!r} is not one of the nodes {names}")
    _check_knowledge_frame(config)
    if not protocol_class(config).nodes_at_any_ap:
        for node in config.nodes:
            ap = node.ap if node.ap is not None else config.central.ap
            if ap != config.central.ap:
                raise ConfigError(
                    f"node {node.name!r} is at AP {ap!r} but protocol {config.protocol!r} moves beam "
                    f"predictions or models made for the centre's AP {config.central.ap!r}, and beam indices "
                    "of different APs name different directions; put the node at the centre's AP (a sensor "
                    "subset of that site) or use local-only"
                )
    for node in config.nodes:
        unknown = [peer for peer in node.neighbours if peer not in names or peer == node.name]
        if unknown:
            raise ConfigError(f"node {node.name!r}: neighbour {unknown[0]!r} is not another node")
    _check_architectures(config)
    check_device(config.train.device, "train.device")
    check_device(config.central.train.device, "central.train.device")
    if config.engine == "flower":
        _check_flower(config.flower)
        check_flower_security(config.flower, names)


def _check_knowledge_frame(config: CollabConfig) -> None:
    if config.knowledge_frame not in KNOWLEDGE_FRAMES:
        raise ConfigError(
            f"config key 'knowledge_frame' must be one of {KNOWLEDGE_FRAMES}, got {config.knowledge_frame!r}"
        )
    if config.knowledge_frame == "world" and config.protocol not in (
        *WORLD_FRAME_PROTOCOLS,
        *FRAME_FREE_PROTOCOLS,
    ):
        raise ConfigError(
            f"config key 'knowledge_frame': 'world' applies to {', '.join(WORLD_FRAME_PROTOCOLS)} "
            f"({', '.join(FRAME_FREE_PROTOCOLS)} run in either frame), not to {config.protocol!r} "
            "(it keeps its meaning in the beam frame)"
        )
    if config.world.gain_power <= 0:
        raise ConfigError(f"config key 'world.gain_power' must be > 0, got {config.world.gain_power}")
    if config.world.position_weight < 0:
        raise ConfigError(
            f"config key 'world.position_weight' must be >= 0, got {config.world.position_weight}"
        )
    if not config.world.gps_std_m > 0:
        raise ConfigError(f"config key 'world.gps_std_m' must be > 0, got {config.world.gps_std_m}")


def _check_flower(flower: FlowerConfig) -> None:
    if flower.superlink is not None:
        host, _, port = flower.superlink.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"config key 'flower.superlink' must be host:port, got {flower.superlink!r}")
    if not 0 <= flower.port < 65536:
        raise ConfigError(
            f"config key 'flower.port' must be 0 (any free port) or a TCP port, got {flower.port}"
        )
    if flower.join_timeout_s <= 0:
        raise ConfigError(f"config key 'flower.join_timeout_s' must be > 0, got {flower.join_timeout_s}")
    if not flower.supernodes and flower.superlink is None and flower.port == 0:
        raise ConfigError(
            "config key 'flower.supernodes': SuperNodes started elsewhere need a known SuperLink; "
            "set flower.superlink or a fixed flower.port"
        )


def _check_proxy(config: CollabConfig) -> None:
    if config.proxy not in PROXY_SOURCES:
        raise ConfigError(f"config key 'proxy' must be one of {PROXY_SOURCES}, got {config.proxy!r}")
    if config.proxy == "twin" and config.protocol not in TWIN_PROTOCOLS:
        raise ConfigError(
            f"config key 'proxy': a twin proxy set serves {', '.join(TWIN_PROTOCOLS)} only, not {config.protocol!r} "
            "(which exchanges no proxy predictions, or trains the centre on the proxy windows' labels)"
        )
    if config.twin_sequences < 1:
        raise ConfigError(f"config key 'twin_sequences' must be >= 1, got {config.twin_sequences}")
    elsewhere = [n.name for n in config.nodes if config.proxy == "twin" and n.ap not in (None, config.central.ap)]
    if elsewhere:
        raise ConfigError(
            f"config key 'proxy': the twin records sensors at the centre's AP {config.central.ap!r} only, "
            f"and node {elsewhere[0]!r} sits at another AP"
        )


def _check_ranges(config: CollabConfig) -> None:
    checks = {
        "rounds": config.rounds >= 1,
        "local_epochs": config.local_epochs >= 0,
        "distill_epochs": config.distill_epochs >= 0,
        "topk": 1 <= config.topk <= config.student.num_beams,
        "payload_sqrt_levels": 1 <= config.payload_sqrt_levels <= 255,
        "payload_dct_coefficients": 0 <= config.payload_dct_coefficients < config.student.num_beams,
        "proxy_windows": config.proxy_windows >= 1,
        "proxy_fraction": 0.0 <= config.proxy_fraction < 1.0,
        "kd_weight": config.kd_weight >= 0,
        "min_epoch_steps": config.min_epoch_steps >= 0,
        "kd_temperature": config.kd_temperature > 0,
        "dirichlet_alpha": config.dirichlet_alpha > 0,
        "node_timeout_s": config.node_timeout_s > 0,
        "workers": config.workers is None or config.workers >= 1,
        "max_reply_bytes": config.max_reply_bytes >= 1,
    }
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(f"config key '{key}' is out of range: {getattr(config, key)!r}")


def _check_architectures(config: CollabConfig) -> None:
    """Every model the run builds names a known architecture; its overrides are type-checked."""
    models = {
        "student": config.student,
        "central.model": config.central.model,
        "central.student": central_student_config(config),
        **{f"nodes[{i}].model": node_model_config(config, node) for i, node in enumerate(config.nodes)},
    }
    for key, model in models.items():
        try:
            resolve_config(model)
        except ValueError as error:
            raise ConfigError(f"config key '{key}.architecture': {error}") from None

"""A digital twin of a synthetic site: the same physics, another draw of traffic.

A scenario's manifest.json records every parameter it was written with (`config`): the street, the AP
poses, the codebook, the channel, the traffic statistics, the sensors. Its twin is that config with
another seed (other vehicles, speeds, lane changes, noise), a number of sequences of its own, and
sensors only at the AP it is made for (the other APs keep their poses, so the street is the same, but
write only their beam sweeps). No sample of the original scenario enters the twin: only the physical
parameters do.

A recorded (DeepSense) site has no manifest: `fitted_twin_config` makes the twin of the site fitted
from the centre's own samples (`kdcs.data.synthetic.site_fit`), one AP with the recorded sensors.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kdcs.config import ConfigError, from_dict
from kdcs.data.synthetic.config import SynthConfig
from kdcs.data.synthetic.files import ap_name

MANIFEST = "manifest.json"


def has_site_manifest(scenario_root: Path) -> bool:
    """Whether the scenario root is a synthetic site (its manifest records its physics); a recorded
    (DeepSense) site has none and its twin is fitted instead (`kdcs.data.synthetic.site_fit`)."""
    return (Path(scenario_root) / MANIFEST).is_file()


def read_site_manifest(scenario_root: Path) -> dict[str, Any]:
    """The manifest.json of a synthetic scenario root; ConfigError naming the file when there is none
    (a DeepSense download has no manifest: its twin needs a fitted site instead)."""
    path = Path(scenario_root) / MANIFEST
    if not path.is_file():
        raise ConfigError(
            f"config key 'proxy': twin needs the {MANIFEST} of a synthetic site (the physical parameters it "
            f"copies), and {scenario_root} holds none"
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        raise ConfigError(f"{path} records no 'config' of the scenario it describes")
    return manifest


def twin_config(manifest: Mapping[str, Any], *, seed: int, num_sequences: int, ap: str) -> SynthConfig:
    """The manifest's scenario with another seed, `num_sequences` sequences and sensors at `ap` only.

    ConfigError when the seed is the site's own (the twin would replay the nodes' traffic) or the
    site has no such AP.
    """
    site = from_dict(SynthConfig, dict(manifest["config"]))
    if seed == site.seed:
        raise ConfigError(
            f"config key 'twin_seed' ({seed}) must differ from the site's seed ({site.seed}): "
            "the twin would replay the nodes' traffic"
        )
    names = [ap_name(k) for k in range(site.num_aps)]
    if ap not in names:
        raise ConfigError(
            f"config key 'central.ap': the site has no AP {ap!r} to make a twin of (has {names})"
        )
    number = names.index(ap)
    kits = tuple(site.kit(k) if k == number else () for k in range(site.num_aps))
    return dataclasses.replace(site, seed=seed, num_sequences=num_sequences, kits=kits)


def fitted_twin_config(site: SynthConfig, *, seed: int, num_sequences: int) -> SynthConfig:
    """The twin of a fitted site (`SiteFit.config`): its street, AP and traffic, another draw of passes."""
    return dataclasses.replace(site, seed=seed, num_sequences=num_sequences)

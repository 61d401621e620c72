"""The plateau learning-rate schedule (`optim.schedule: plateau`): lower the rate when validation stalls.

Why: a cosine schedule runs over the epoch cap (`train.epochs`), so a model that early stopping ends
at epoch 15 of 30 stops while its rate is still high, and raising the cap changes the result (the
demo's GPS student: cap 30 -> 60 lowered its validation top-1 from 0.319 to 0.296). Here the rate
depends on what validation did, not on the cap:

- after `optim.plateau_patience` epochs without a better selection metric, the rate is multiplied by
  `optim.plateau_factor` (at most `optim.plateau_reductions` times), and the count starts again;
- early stopping (`train.patience`) counts epochs without improvement since the last improvement
  or the last reduction, whichever came later, so once the reductions are used up a run stops after
  `patience` stale epochs at its lowest rate;
- `optim.plateau_restart_best` restarts each reduction from the best epoch's weights.

The state (scale and reductions made) lives in the trainer's run state, which every checkpoint
holds, so a resumed run goes on at the same rate.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from kdcs.distill.train_config import OptimConfig

SCALE = "lr_scale"  # run-state key: the factor on optim.lr after warm-up (1.0 before any reduction)
REDUCTIONS = "lr_reductions"  # run-state key: how many times the rate was lowered
STALE = "epochs_without_improvement"  # run-state key the trainer counts (reset on a reduction)


def lr_scale(state: MutableMapping[str, Any]) -> float:
    """The rate's current factor (1.0 for a run, or a checkpoint, that never reduced it)."""
    return float(state.get(SCALE, 1.0))


def reduce_on_plateau(optim: OptimConfig, state: MutableMapping[str, Any]) -> bool:
    """After an epoch's selection has updated state[STALE]: lower the rate if validation has stalled
    for `plateau_patience` epochs and reductions are left. Returns True when it lowered it."""
    if optim.schedule != "plateau":
        return False
    reductions = int(state.get(REDUCTIONS, 0))
    if state[STALE] < optim.plateau_patience or reductions >= optim.plateau_reductions:
        return False
    state[SCALE] = lr_scale(state) * optim.plateau_factor
    state[REDUCTIONS] = reductions + 1
    state[STALE] = 0  # early stopping and the next reduction count from here
    return True


def stop_note(optim: OptimConfig, state: MutableMapping[str, Any]) -> str:
    """What an early-stop reason adds for a plateau run, e.g. " after 2 learning-rate reductions"."""
    if optim.schedule != "plateau":
        return ""
    count = int(state.get(REDUCTIONS, 0))
    return f" after {count} learning-rate reduction{'' if count == 1 else 's'}"

"""A trained teacher run on a subset of its sensors: what it can say from the inputs a student reads.

A data-free run synthesises only the modalities the student reads, and a student trained with a few
real windows sees only those; the teacher must judge windows from them alone. A teacher trained with
modality dropout (`model.modality_dropout`, as configs/train/multimodal-teacher.yaml) has learned
exactly that case: a dropped modality's embeddings are zeros, and this wrapper feeds zeros for every
modality outside the subset. A teacher trained without it is out of its training distribution there;
`teacher_subset_report` measures how much that costs on real windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from kdcs.config import ConfigError
from kdcs.models.output import ModelOutput


class SensorSubsetTeacher(nn.Module):
    """`teacher` reading only `present` of its modalities; the others' embeddings are zero.

    Input: a batch with [B, L, ...] entries for the present modalities. Output: the teacher's
    ModelOutput. `config` and `modalities` are the teacher's config and the present modalities, so
    batch slicing (`inputs_for`) and teacher-output caching treat it as the teacher it wraps.
    """

    def __init__(self, teacher: nn.Module, present: Sequence[str]) -> None:
        super().__init__()
        self.teacher = teacher
        self.config = teacher.config
        self.modalities = tuple(m for m in teacher.modalities if m in set(present))
        if not self.modalities:
            raise ConfigError(
                f"the teacher reads {list(teacher.modalities)}, none of the student's {list(present)}: "
                "it can teach nothing from the student's inputs"
            )

    def forward(self, batch: Mapping[str, Tensor]) -> ModelOutput:
        first = batch[self.modalities[0]]
        batch_size, history = first.shape[:2]
        embeddings = {}
        for modality, encoder in self.teacher.encoders.items():
            if modality in self.modalities:
                folded = batch[modality].reshape(batch_size * history, *batch[modality].shape[2:])
                embeddings[modality] = encoder(folded).view(batch_size, history, -1)
            else:
                width = int(encoder.out_features)
                embeddings[modality] = torch.zeros(batch_size, history, width, device=first.device)
        return self.teacher.head(embeddings)


def synthesisable(teacher: nn.Module, student_modalities: Sequence[str]) -> tuple[str, ...]:
    """The student's modalities a data-free run can synthesise: every one must be read by the teacher
    (gradients come from it), except the beam history, which is chosen from the track prior."""
    missing = [m for m in student_modalities if m != "beam_history" and m not in teacher.modalities]
    if missing:
        raise ConfigError(
            f"kd.recipe 'data-free': the teacher reads {list(teacher.modalities)}, not the student's "
            f"{missing[0]!r}, so no input of that modality can be synthesised from it"
        )
    return tuple(student_modalities)

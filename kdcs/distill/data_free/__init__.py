"""Data-free KD: a student distilled from a trained teacher on inputs synthesised from the teacher alone.

- config: DataFreeConfig (`kd.data_free.*`) and the beam-track prior;
- beam_tracks: the beam sequences the synthetic windows are conditioned on (the beam-history input);
- sensor_subset: the teacher run on the modalities a student reads (the others absent, as modality
  dropout trained it);
- frames, gps_tracks: how each continuous modality is parametrised, in its cache's range and dtype;
- batch_norm_statistics: the DeepInversion prior, the teacher's stored BatchNorm statistics;
- inversion: the synthesis (teacher confidence on chosen beam tracks + priors);
- window_set: synthetic (and a few real) windows as tensors, their batcher, their file;
- training_set: what a `data-free` run trains and selects on.
"""

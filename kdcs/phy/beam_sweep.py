"""The AP's measured beam sweep: the received power of every codebook beam, as DeepSense logs it.

An AP steers its beams one after the other and reports, for beam b, the mean power of M received
snapshots, P_b = (1/M) sum_m |w_b^H h(t_b) + n_m|^2, with thermal noise n_m ~ CN(0, N). Three
things follow that a noiseless |w_b^H h|^2 misses, and that real DeepSense sweeps show (scenario 5:
the peak stands only 3-9 dB above the floor, median 7 dB; the best beam beats its best neighbour by
a median 0.19 dB; 4 beams lie within 1 dB of the peak):
- the floor: every beam reads S_b + N on average, so at a low signal-to-noise ratio the main lobe
  flattens;
- the scatter: the mean of M snapshots has variance (N^2 + 2 S_b N) / M, so neighbouring beams
  whose powers are within a fraction of a dB swap places from sweep to sweep;
- the channel moves during the sweep: beam b is measured at its own instant t_b, and while the car
  drives the phases of the multipath components turn against the line of sight at different
  rates, so beams of the same main lobe read it through different fades.
The label of a sample is the argmax of this measured sweep, as in DeepSense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.array import BeamCodebook
from kdcs.phy.channel import ChannelConfig, PropagationPaths, channel_from_paths


@dataclass(frozen=True)
class BeamSweepConfig:
    """How one beam sweep is measured.

    Parameters
    ----------
    snapshots_per_beam: M, received snapshots averaged into each beam's power reading. The
        reading's relative scatter on the noise floor is 1/sqrt(M): DeepSense scenario 5's floor
        moves ~0.34 dB (8%) from sweep to sweep, i.e. M ~ 150.
    sweep_duration_s: time from the first beam's reading to the last one's, seconds; the beams are
        read in codebook order, centred on the sample's time stamp (0 = a frozen channel).
    include_noise: add the receiver's thermal noise to the readings (off = the noise-free
        |w_b^H h(t_b)|^2, used by tests).
    """

    snapshots_per_beam: int = 150
    sweep_duration_s: float = 0.0
    include_noise: bool = True

    def beam_time_offsets_s(self, num_beams: int) -> np.ndarray:
        """[num_beams] when each beam is read, seconds relative to the sample's time stamp."""
        return (np.arange(num_beams) / max(num_beams - 1, 1) - 0.5) * self.sweep_duration_s


def swept_beam_amplitudes(
    codebook: BeamCodebook, paths: PropagationPaths, channel: ChannelConfig, sweep: BeamSweepConfig
) -> np.ndarray:
    """w_b^H h(t_b) for every beam b, each at its own reading instant (sqrt mW).

    Path p's length at t_b is length_m + t_b * length_rate_mps (the geometry, hence amplitudes and
    angles, moves too little during one sweep to matter; the carrier phase does not).
    Output: [num_beams] complex128; with sweep_duration_s = 0, W^* h of `channel_from_paths`.
    """
    if sweep.sweep_duration_s == 0.0:  # a frozen channel: one vector h serves every beam (cheaper)
        return codebook.weights.conj() @ channel_from_paths(codebook.array, paths, channel)
    array = codebook.array
    tx_amplitude = np.sqrt(10.0 ** (channel.tx_power_dbm / 10.0))
    offsets = sweep.beam_time_offsets_s(codebook.num_beams)  # [B]
    lengths = paths.length_m[None, :] + offsets[:, None] * paths.length_rate_mps[None, :]  # [B, P]
    phases = np.exp(-2j * np.pi * lengths / array.wavelength_m)  # [B, P]
    responses = array.steering_vector(paths.azimuth_rad, paths.elevation_rad) * np.sqrt(array.num_antennas)
    # einsum, not @: these products are tiny, and a BLAS matrix product wakes its thread pool, which
    # costs milliseconds per call on a loaded host (measured: 0.3 s per sweep at load 14).
    per_path = np.einsum(
        "bn,pn->bp", codebook.weights.conj(), responses
    )  # [B, P] beam b's response to path p
    return tx_amplitude * np.einsum("bp,p->b", per_path * phases, paths.amplitude)  # [B]


def measure_beam_sweep(
    codebook: BeamCodebook,
    paths: PropagationPaths,
    channel: ChannelConfig,
    sweep: BeamSweepConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Measured power of each codebook beam in one sweep, milliwatts.

    Input: the paths to the AP at the sample's time; rng: the noise source.
    Output: [num_beams] float64, each the mean of snapshots_per_beam snapshots' |w_b^H h(t_b) + n|^2,
    drawn exactly: N / (2M) times a noncentral chi-square with 2M degrees of freedom and
    noncentrality 2M |w_b^H h(t_b)|^2 / N.
    """
    signal = np.abs(swept_beam_amplitudes(codebook, paths, channel, sweep)) ** 2  # [B] mW
    if not sweep.include_noise:
        return signal
    scale = channel.noise_power_mw / (2.0 * sweep.snapshots_per_beam)
    return scale * rng.noncentral_chisquare(2 * sweep.snapshots_per_beam, signal / scale)

"""The synthetic multi-AP street scenario: configure it, write it, and measure how hard it is.

- config: SynthConfig (every parameter, with units) and the sensor kits;
- plan, sequence, writer: which sequences, how one is synthesised, how the root is written atomically;
- files, manifest: the DeepSense on-disk layout and manifest.json;
- realism: beam statistics of a written scenario.
"""

from kdcs.data.synthetic.config import (
    CAMERA_SENSOR,
    DEFAULT_KITS,
    GPS_SENSOR,
    RADAR_SENSOR,
    SENSORS,
    SynthConfig,
    parse_kits,
)
from kdcs.data.synthetic.files import TRUTH_FILE, ap_name, csv_columns, format_time_stamp
from kdcs.data.synthetic.realism import beam_statistics, realism_report
from kdcs.data.synthetic.writer import synthesize

__all__ = [
    "CAMERA_SENSOR",
    "DEFAULT_KITS",
    "GPS_SENSOR",
    "RADAR_SENSOR",
    "SENSORS",
    "TRUTH_FILE",
    "SynthConfig",
    "ap_name",
    "beam_statistics",
    "csv_columns",
    "format_time_stamp",
    "parse_kits",
    "realism_report",
    "synthesize",
]

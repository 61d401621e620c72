"""Data layer: DeepSense reader, synthetic scenario writer, cache, windows and partitions."""

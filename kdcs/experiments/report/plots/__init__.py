"""The report's PNG figures (matplotlib on the Agg canvas, without pyplot)."""

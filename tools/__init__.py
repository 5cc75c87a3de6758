"""Developer tools outside the runtime: model training and calibration (``tools.training``)."""

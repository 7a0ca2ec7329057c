"""Data files shipped with aligner: the fitted quality models (``quality_model.json``,
``quality_model_e5.json``), written by ``scripts/fit_quality.py``."""

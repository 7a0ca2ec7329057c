"""Quality scores of aligned pairs: metrics, the quality model, filters."""

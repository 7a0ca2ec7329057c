"""Runs over folders: the one writer of an output folder (align, score)."""

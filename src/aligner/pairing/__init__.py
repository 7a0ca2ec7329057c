"""Pairing English documents with their Arabic sources: by name or manifest, or by content."""

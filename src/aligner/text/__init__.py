"""Text: Unicode normalisation and sentence segmentation (English and Arabic)."""

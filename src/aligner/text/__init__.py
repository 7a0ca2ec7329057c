"""Text: Unicode normalisation, sentence segmentation (English and Arabic) and anchors
(names and numbers both scripts share)."""

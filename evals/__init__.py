"""Evaluation datasets, the scorer, recorded cassettes and committed results (never shipped)."""

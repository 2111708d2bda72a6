"""Kept for ``python -m evals.…`` habits: the dataset loader lives in :mod:`orchestrator.scoring.dataset`."""

from orchestrator.scoring.dataset import *
from orchestrator.scoring.dataset import __all__  # noqa: F401

"""Kept for ``python -m evals.runner``: the scorer lives in :mod:`orchestrator.scoring.runner`."""

import sys

from orchestrator.scoring.runner import *
from orchestrator.scoring.runner import __all__, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())

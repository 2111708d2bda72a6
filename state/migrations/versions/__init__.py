"""Migration scripts, one per schema change, never edited after they land."""

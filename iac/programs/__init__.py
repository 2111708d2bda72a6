"""programs package."""

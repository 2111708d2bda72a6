"""Contract tests: adapters driven against vendor specs served by Prism."""

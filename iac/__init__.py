"""iac package."""

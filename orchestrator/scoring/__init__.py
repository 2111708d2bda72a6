"""Scoring parsers on eval datasets (DESIGN.md JSONL format): shipped, so `sophia-iac eval` works anywhere."""

"""REST, Slack and webhook routes: each module converts HTTP to a service call and back."""

from __future__ import annotations

__all__: list[str] = []

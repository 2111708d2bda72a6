"""Fixtures shared by the adapter tests."""

from tests.adapters.scripted import server  # noqa: F401 - the scripted loopback server, a fixture

"""Action specs per platform: ``adapters/specs/<platform>.py`` exports ``ACTIONS``.

Specs are kept apart from adapter implementations so the parser, the docs and the evals can
load the whole catalog without importing any vendor client.
"""

"""Estuary Flow actions: enable or disable captures and materializations.

Target names are Flow catalog names (``acmeCo/postgres-orders``). Before-state for both
resource types: ``{"name", "enabled"}``.
"""

from __future__ import annotations

from adapters.catalog import ActionSpec, inverse_same_target

__all__ = ["ACTIONS"]

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="estuary.capture.enable",
        summary="Enable (start) a capture",
        target="capture name",
        inverse=inverse_same_target("estuary.capture.disable"),
        inverse_hint="disable",
        examples=(
            "enable the estuary capture acmeCo/postgres-orders",
            "turn the salesforce capture back on in estuary",
            "start capture acmeCo/hubspot-source",
        ),
    ),
    ActionSpec(
        id="estuary.capture.disable",
        summary="Disable (stop) a capture",
        target="capture name",
        inverse=inverse_same_target("estuary.capture.enable"),
        inverse_hint="enable",
        examples=(
            "disable the estuary capture acmeCo/postgres-orders",
            "pause the salesforce capture in estuary",
            "stop capture acmeCo/hubspot-source",
        ),
    ),
    ActionSpec(
        id="estuary.materialization.enable",
        summary="Enable (start) a materialization",
        target="materialization name",
        inverse=inverse_same_target("estuary.materialization.disable"),
        inverse_hint="disable",
        examples=(
            "enable the materialization acmeCo/snowflake-orders",
            "turn the bigquery materialization back on in estuary",
            "resume estuary materialization acmeCo/warehouse-sync",
        ),
    ),
    ActionSpec(
        id="estuary.materialization.disable",
        summary="Disable (stop) a materialization",
        target="materialization name",
        inverse=inverse_same_target("estuary.materialization.enable"),
        inverse_hint="enable",
        examples=(
            "disable the materialization acmeCo/snowflake-orders",
            "pause the bigquery materialization in estuary",
            "stop estuary materialization acmeCo/warehouse-sync",
        ),
    ),
)

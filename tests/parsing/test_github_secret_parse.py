"""GitHub Actions secrets said in a command: a reference parses, a typed value is never kept.

``github.secret.set``'s params model takes only ``secret://NAME``. A value typed in its place is
still extracted by the offline parser (so it is recognised as one), the model refuses it, and
the clarify that results names no value; :func:`withhold_secrets` then withholds the whole text.
"""

from __future__ import annotations

import json

from orchestrator.parsing.offline import OfflineParser
from orchestrator.secret_params import withhold_secrets
from orchestrator.state import Intent

LITERAL = "ghp_typed1nPlainS1ght0000"


def test_a_reference_parses_and_a_typed_value_is_withheld() -> None:
    parser = OfflineParser()
    ok = parser.parse("set the actions secret DEPLOY_TOKEN on payready/web from secret://WEB_DEPLOY", {})
    assert ok.intent is Intent.ACTION
    assert ok.actions[0].params == {"name": "DEPLOY_TOKEN", "value": "secret://WEB_DEPLOY"}
    text = f"set the actions secret DEPLOY_TOKEN on payready/web to {LITERAL}"
    parsed = parser.parse(text, {})
    assert parsed.intent is Intent.CLARIFY and parsed.candidates == ["github.secret.set"]
    assert LITERAL not in json.dumps(parsed.model_dump(mode="json"))
    withheld = withhold_secrets(text, parsed)
    assert LITERAL not in withheld.text and "withheld" in withheld.text
    assert LITERAL not in json.dumps(withheld.parsed.model_dump(mode="json"))

"""A real Actions key pair for the GitHub contract tests.

GitHub's document's example answer for "Get a repository public key" is 44 base64 characters
without padding, 33 bytes: not an X25519 public key, so nothing can be sealed for it (a test
shows the adapter refuses it before sending anything). These tests answer that one request
with the public half of a key pair made here, and open what the adapter sent with the private
half, as GitHub does.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from nacl.public import PrivateKey, SealedBox

__all__ = ["KEY_ID", "PRIVATE_KEY", "opened", "with_real_public_key"]

PRIVATE_KEY = PrivateKey.generate()
KEY_ID = "012345678912345678"  # the document's example key_id


def with_real_public_key(request: httpx.Request, body: Any) -> Any:
    """``edit_json`` for a RecordingTransport: the public-key answer carries :data:`PRIVATE_KEY`'s half."""
    if request.url.path.endswith("/actions/secrets/public-key") and isinstance(body, dict):
        return {**body, "key_id": KEY_ID, "key": base64.b64encode(bytes(PRIVATE_KEY.public_key)).decode()}
    return body


def opened(encrypted_value: str, key: PrivateKey = PRIVATE_KEY) -> str:
    """What GitHub would store: the sealed box opened with the repository's private key."""
    return SealedBox(key).decrypt(base64.b64decode(encrypted_value)).decode()

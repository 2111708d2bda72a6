"""Lambda Cloud actions: GPU instances and SSH keys.

Before-states (``adapters/dev/lambdalabs.py``): instance ``{"name", "instance_type", "region",
"count", "ids"}`` — the live instances with that name (or that id), without their status or IPs,
which change by themselves; ssh key ``{"name", "public_key"}`` (a public key is not a secret). A
launch's prediction also carries ``usd_per_hour`` (price × count) for the spend guardrail.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from adapters.catalog import ActionSpec, Params, Risk, inverse_same_target, restore_fields

__all__ = ["ACTIONS", "InstanceLaunchParams", "SshKeyAddParams"]

_INSTANCE_TYPE = re.compile(r"^(gpu|cpu)_\d+x_[a-z0-9_]+$")
_REGION = re.compile(r"^[a-z]+(-[a-z]+)+-\d$")
_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]{16,}( .*)?$"
)


class InstanceLaunchParams(Params):
    """``lambdalabs.instance.launch`` params."""

    instance_type: str = Field(description="e.g. gpu_1x_a100_sxm4, gpu_8x_h100_sxm5")
    region: str = Field(description="e.g. us-west-1, us-east-1, europe-central-1")
    count: int = Field(default=1, ge=1, le=8, description="how many instances (1 to 8)")

    @field_validator("instance_type", mode="before")
    @classmethod
    def _type(cls, value: object) -> str:
        text = re.sub(r"[\s-]+", "_", str(value).strip().lower())
        if not _INSTANCE_TYPE.match(text):
            raise ValueError(f"not a Lambda instance type: {value!r} (like gpu_1x_a100_sxm4)")
        return text

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: object) -> str:
        text = re.sub(r"[\s_]+", "-", str(value).strip().lower())
        if not _REGION.match(text):
            raise ValueError(f"not a Lambda region: {value!r} (like us-west-1)")
        return text


class SshKeyAddParams(Params):
    """``lambdalabs.ssh_key.add`` params."""

    public_key: str = Field(description="an OpenSSH public key line")

    @field_validator("public_key", mode="before")
    @classmethod
    def _key(cls, value: object) -> str:
        text = " ".join(str(value).split())
        if not _PUBLIC_KEY.match(text):
            raise ValueError("not an OpenSSH public key (ssh-ed25519 AAAA…, ssh-rsa AAAA…)")
        return text


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="lambdalabs.instance.launch",
        summary="Launch GPU instances",
        params=InstanceLaunchParams,
        target="instance name",
        inverse=inverse_same_target("lambdalabs.instance.terminate"),
        inverse_hint="instance.terminate",
        examples=(
            "launch a gpu_1x_a100_sxm4 instance called trainer-1 in us-west-1",
            "spin up 2 gpu_8x_h100_sxm5 boxes named finetune in us-east-1 on lambda",
            "start a lambda instance eval-box, type gpu_1x_a10, region us-west-1",
        ),
    ),
    ActionSpec(
        id="lambdalabs.instance.terminate",
        summary="Terminate an instance (its disk is lost)",
        risk=Risk.DESTRUCTIVE,
        target="instance name or id",
        inverse_hint="none: the instance and its disk are gone",
        examples=(
            "terminate the lambda instance trainer-1",
            "kill gpu box finetune on lambda labs",
            "shut down and delete instance eval-box",
        ),
    ),
    ActionSpec(
        id="lambdalabs.ssh_key.add",
        summary="Add an SSH public key",
        params=SshKeyAddParams,
        target="key name",
        inverse=inverse_same_target("lambdalabs.ssh_key.remove"),
        inverse_hint="remove",
        examples=(
            "add ssh key laptop to lambda: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDocs1234 me@laptop",
            "register the lambda ssh key ci-runner with ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDocsOnly",
            "upload ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnotherFakeKey5678 as key workstation on lambda labs",
        ),
    ),
    ActionSpec(
        id="lambdalabs.ssh_key.remove",
        summary="Remove an SSH key",
        target="key name",
        inverse=restore_fields("lambdalabs.ssh_key.add", {"public_key": "public_key"}),
        inverse_hint="add it back with the public key from the before-state",
        examples=(
            "remove the lambda ssh key laptop",
            "delete ssh key ci-runner from lambda labs",
            "revoke the workstation ssh key on lambda",
        ),
    ),
)

"""Infrastructure as code: Pulumi's Automation API behind the same pipeline as the adapters.

``preview`` is the plan shown for approval, ``up`` applies (after an export kept as the
rollback point). Which resources are managed as code is the ``SOPHIA_IAC_MANAGED`` setting;
:mod:`iac.adapter` is what the adapter pool hands out for them. Nothing here imports
``pulumi`` until an IaC action runs.
"""

__all__: list[str] = []

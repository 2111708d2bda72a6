"""Let the policy engine see the identities registered for the server surfaces.

Policy resolves every actor to an identity with roles and groups (``policies/identity.py``,
``SOPHIA_IDENTITIES``). API keys (``sophia-iac keys create``) and Slack users
(``sophia-iac slack link``) are registered in the store with a name and a role; this
directory answers for their actors (``api:<name>``, ``slack:<user id>``) when the identities
file does not list them:

* a name the identities file defines resolves to *that* identity (the file stays the source
  of truth for roles and groups);
* otherwise the stored role maps to policy roles — viewer → viewer, operator → operator,
  approver → operator + approver, admin → admin — and approvers and admins join the default
  ``approvers`` group.

So ``api:alice`` and ``slack:U024`` linked to ``alice`` are one person to policy: four-eyes
holds across surfaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.identity import Identity, IdentityDirectory, Role

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["StoreBackedDirectory", "install"]

_ROLES: dict[str, tuple[Role, ...]] = {
    "viewer": (Role.VIEWER,), "operator": (Role.OPERATOR,), "approver": (Role.OPERATOR, Role.APPROVER),
    "admin": (Role.ADMIN,),
}
#: The group approvals are addressed to by default (``policies/packs/default.yaml``).
APPROVERS_GROUP = "approvers"


class StoreBackedDirectory(IdentityDirectory):
    """An :class:`IdentityDirectory` that also knows the store's API keys and Slack users."""

    def __init__(self, base: IdentityDirectory, store: Store) -> None:
        super().__init__(base.identities.values(), base.unknown, base.patterns)
        self.store = store

    def resolve(self, actor: str) -> Identity:
        """Listed actors first, then registered ones, then patterns / unknown."""
        from state.identities import registered

        listed = self._by_actor.get(actor) or self.identities.get(actor)
        if listed is not None:
            return listed
        found = registered(self.store, actor)
        if found is None:
            return super().resolve(actor)
        if found.name in self.identities:
            return self.identities[found.name]
        roles = _ROLES.get(found.role, (Role.VIEWER,))
        groups = (APPROVERS_GROUP,) if Role.APPROVER in roles or Role.ADMIN in roles else ()
        return Identity(id=found.name, roles=roles, groups=groups, actors=(actor,))

    def actors_of(self, identity_id: str) -> tuple[str, ...]:
        """The file's actors plus every registered ``api:`` / ``slack:`` actor of the identity."""
        from state.identities import registered_actors

        return tuple(sorted({*super().actors_of(identity_id), *registered_actors(self.store, identity_id)}))


def install(service: object) -> None:
    """Wrap the service's policy identities (once) so registered surface actors resolve."""
    deps = getattr(service, "deps", None)
    gate = getattr(deps, "policy", None)
    current = getattr(gate, "identities", None)
    if gate is None or current is None or isinstance(current, StoreBackedDirectory):
        return
    gate.identities = StoreBackedDirectory(current, service.store)  # type: ignore[attr-defined]

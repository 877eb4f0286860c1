"""Organizations and users: the fake's own (seeded), and the child organizations a partner creates."""

from __future__ import annotations

from typing import Any

from bill_sdk.testing.config import FakeCredentials
from bill_sdk.testing.resources import Hook
from bill_sdk.testing.sessions import Principal
from bill_sdk.testing.state import PARTNER_SCOPE, State

ORGANIZATION_NAME = "FakeBill Organization"
PARTNER_ORGANIZATION_NAME = "FakeBill Partner Child"


class Organizations:
    def __init__(self, state: State) -> None:
        self.state = state

    def seed(self, credentials: FakeCredentials) -> None:
        """The organization and user the credentials sign in as."""
        self.state.put(
            "organizations",
            {"id": credentials.organization_id, "name": ORGANIZATION_NAME, "organizationName": ORGANIZATION_NAME},
        )
        self.state.put(
            "users",
            {
                "id": credentials.user_id,
                "username": credentials.username,
                "firstName": "Fake",
                "lastName": "User",
                "email": "fakeuser@example.com",
            },
        )
        if credentials.partner_organization_id:
            self.seed_partner_organization(credentials.partner_organization_id, credentials.partner_user_id)

    def seed_partner_organization(self, organization_id: str, user_id: str) -> None:
        """A child organization as if the partner had created it (listed, enterable), with one user."""
        org = self.state.put(
            "organizations", {"id": organization_id, "name": PARTNER_ORGANIZATION_NAME}, org=PARTNER_SCOPE
        )
        self.state.partner_orgs.add(organization_id)
        self.state.add(organization_id, "organizations", org, record_id=organization_id)
        self.state.put(
            "users",
            {"id": user_id, "firstName": "Child", "lastName": "User", "email": "child@example.com"},
            org=organization_id,
        )

    def hooks(self) -> dict[str, list[Hook]]:
        return {"organizations": [self.organization_hook]}

    def organization_hook(self, who: Principal, data: dict[str, Any], action: str) -> None:
        """A partner-created organization becomes a scope of its own that login-as-user can enter."""
        if action == "created" and who.kind == "partner":
            self.state.partner_orgs.add(data["id"])
            self.state.add(data["id"], "organizations", data, record_id=data["id"])

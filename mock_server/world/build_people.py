"""People and places for VMs: labels, user roles and users, VM folders and placement groups
per cluster. The catalog (images, templates) follows in `build_catalog`."""

from __future__ import annotations

from .build_catalog import CatalogBuilder
from .values import uuid4
from .vocab import VM_ENVS, VM_ROLES


class PeopleBuilder(CatalogBuilder):
    def build_people_and_catalog(self) -> None:
        self.build_people()
        self.build_catalog()

    def build_people(self) -> None:
        sc, rng, P = self.sc, self.rng, self.pools
        keys = ("env", "team", "app", "tier", "owner", "backup", "zone", "project")
        vals = {"env": VM_ENVS, "tier": ("frontend", "backend", "data"), "backup": ("daily", "weekly", "none")}
        self.labels = []
        seen = set()
        for i in range(sc.labels):
            k = keys[i % len(keys)]
            v = rng.choice(vals.get(k, P.words))
            if (k, v) in seen:
                v = f"{v}-{i}"
            seen.add((k, v))
            self.labels.append(self.make("Label", {"key": k, "value": v, "createdAt": self.ts(),
                                                   "total_num": 0}))
        roles = []
        if self.has("UserRoleNext"):
            for rname, preset in (("Administrator", "ADMIN"), ("Read only", "READ_ONLY")):
                roles.append(self.make("UserRoleNext", {"name": rname, "preset": preset, "platform": None}))
        self.users = [self.make("User", {
            "name": "root", "username": "root", "display_username": "root",
            "source": self.enum("User", "source", "LOCAL"), "role": self.enum("User", "role", "ROOT"),
            "internal": False, "email_address": "root@example.com", "mobile_phone": "",
            "password_expired": False, "password_updated_at": self.ts()},
            {"roles": roles[0]["id"] if roles else None})]
        used = {"root"}
        for i in range(sc.users):
            u = rng.choice(P.first_names)
            while u in used:
                u = f"{rng.choice(P.first_names)}{rng.randrange(10, 99)}"
            used.add(u)
            self.users.append(self.make("User", {
                "name": u.title(), "username": u, "display_username": u,
                "source": self.enum("User", "source", "LOCAL") if i % 4 else self.enum("User", "source", "LDAP"),
                "role": self.enum("User", "role", "ADMIN", "READ_ONLY"), "internal": False,
                "email_address": f"{u}@example.com"},
                {"roles": roles[i % len(roles)]["id"] if roles else None}))
        for ctx in self.cl:
            ctx["folders"], ctx["groups"], ctx["isos"], ctx["templates"] = [], [], [], []
        for i in range(sc.folders):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            f = self.make("VmFolder", {"name": f"{rng.choice(VM_ENVS)}-{rng.choice(P.words)}-{i + 1}"},
                          {"cluster": ctx and ctx["row"]["id"]})
            if ctx is not None and f:
                ctx["folders"].append(f["id"])
        for i in range(sc.placement_groups):
            ctx = self.cl[i % len(self.cl)] if self.cl else None
            g = self.make("VmPlacementGroup", {
                "name": f"pg-{rng.choice(VM_ROLES)}-{i + 1}", "local_id": uuid4(rng), "enabled": True,
                "vm_vm_policy_enabled": True, "vm_host_must_enabled": False, "vm_host_prefer_enabled": False,
                "local_created_at": self.ts(), "local_updated_at": self.ts(), "description": ""},
                {"cluster": ctx and ctx["row"]["id"]})
            if ctx is not None and g:
                ctx["groups"].append(g["id"])

"""The log services of a cluster, in the groups a log collection picks from
(`get-log-service-configs`, `create-log-collection`'s `service_groups`, LogCollection's
`groups` / `services`). What a cluster runs follows its kind: the storage group on every
SMTX cluster, the ELF virtualisation group where ELF is the hypervisor (not on storage-only
SMTX ZBS clusters), the witness group on stretched clusters, system and management groups
everywhere. A leaf: the world builder and the behaviours both read it.

The service names are the daemons of an SMTX OS node as its service list shows them; the
grouping is the mock's (no public source lists the real groups)."""

from __future__ import annotations

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SYSTEM", ("messages", "dmesg", "kern", "cron", "sshd", "chronyd")),
    ("STORAGE", ("zbs-metad", "zbs-chunkd", "zbs-taskd", "zbs-inspectord", "zbs-iscsi-redirectord", "zookeeper")),
    ("VIRTUALIZATION", ("libvirtd", "elf-vm-monitor", "elf-vm-scheduler", "elf-vm-watchdog", "vmtools-agent")),
    ("NETWORK", ("network-monitor", "ovs-vswitchd", "ovsdb-server")),
    ("MANAGEMENT", ("tuna-rest-server", "job-center-scheduler", "job-center-worker", "mongod", "nginx",
                    "tuna-exporter", "node-exporter")),
    ("WITNESS", ("witnessd",)),
)
BY_NAME = dict(GROUPS)


def group_names(cluster: dict) -> list[str]:
    """The groups `cluster` has, in catalogue order."""
    kind = cluster.get("type") or "SMTX_OS"
    hypervisor = cluster.get("hypervisor") or ("ELF" if kind in ("SMTX_OS", "SMTX_ELF") else None)
    out = []
    for name, _ in GROUPS:
        if name == "STORAGE" and kind == "SMTX_ELF":
            continue                       # compute-only: its storage is another cluster's
        if name in ("VIRTUALIZATION", "NETWORK") and (kind == "SMTX_ZBS" or hypervisor != "ELF"):
            continue
        if name == "WITNESS" and not cluster.get("stretch"):
            continue
        out.append(name)
    return out


def configs(cluster: dict) -> list[dict]:
    """LogServiceConfig rows of `cluster`: [{group_name, service_list}]."""
    return [{"group_name": g, "service_list": list(BY_NAME[g])} for g in group_names(cluster)]

"""`get-export-file-download-links`: one link per file of an existing VM export (by its id or
its data port id), each served by the mock itself (mock_server/export_files.py); an unknown
export is a 404. An export whose files are not ready yet (no file) answers no link.
`export-vm` / `export-vm-volume` give the exports they make their files."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..export_files import file_link, ovf_descriptor
from ..vnc.service import origins
from . import Ctx, operation
from .lookups import unique_row
from .mutations import generic_action
from .synth import new_uuid


@operation("get-export-file-download-links")
def export_file_download_links(ctx: Ctx, body: Any):
    where = body.get("where") if isinstance(body, dict) else None
    export = unique_row(ctx, "VmExportFile", where, "where")
    environ = getattr(ctx.headers, "environ", None) or {}
    origin = origins(environ)[1]
    namespace = ctx.headers.get("X-Mock-Namespace") if ctx.headers else None
    return [{"link": file_link(origin, namespace, export["id"], f), "filename": str(f.get("fileName") or "")}
            for f in export.get("files") or () if isinstance(f, dict) and f.get("fileUUID")]


EXTENSIONS = {"OVF": "vmdk", "QCOW2": "qcow2", "RAW": "raw", "VMDK": "vmdk"}


@operation("export-vm", "export-vm-volume")
def export_with_files(ctx: Ctx, body: Any):
    """The generic export (one VmExportFile per VM or volume matched, under a task), then its
    files: one per disk volume, named after it, of its size and of the type asked for; an OVF
    export adds the descriptor naming them (served as OVF XML, its md5 that of the XML). The
    disk images' md5 is empty: the mock keeps no disk contents (it serves zeros)."""
    out = generic_action(ctx, body)
    kind = ((body or {}).get("data") or {}).get("type") if isinstance(body, dict) else None
    store = ctx.store
    for entry in out if isinstance(out, list) else ():
        data = entry.get("data") if isinstance(entry, dict) else None
        row = store.get("VmExportFile", data.get("id")) if isinstance(data, dict) else None
        if row is None:
            continue
        vm = store.get("Vm", row.get("vm")) if row.get("vm") else None
        volume = store.get("VmVolume", row.get("vm_volume")) if row.get("vm_volume") else None
        volumes = _volumes_of(ctx, vm) if vm is not None else [volume] if volume is not None else []
        source = vm or volume or {}
        cluster = store.get("Cluster", source.get("cluster")) if source.get("cluster") else None
        changes = {"files": _files(source.get("name") or row["id"], volumes, kind or row.get("type") or "RAW"),
                   "data_port_id": new_uuid()}
        if cluster is not None and cluster.get("local_id"):
            changes["storage_cluster_id"] = cluster["local_id"]
        store.update("VmExportFile", row["id"], changes)
        entry["data"] = store.render("VmExportFile", store.get("VmExportFile", row["id"]))
    return out


def _volumes_of(ctx: Ctx, vm: dict) -> list[dict]:
    store = ctx.store
    disks = [store.get("VmDisk", d) for d in store.related_ids("Vm", vm, "vm_disks") or ()]
    disks = sorted((d for d in disks if d is not None and d.get("type") != "CD_ROM"),
                   key=lambda d: (d.get("boot") is None, d.get("boot") or 0))
    vols = [store.get("VmVolume", store.related_ids("VmDisk", d, "vm_volume")) for d in disks]
    return [v for v in vols if v is not None]


def _files(base: str, volumes: list[dict], kind: str) -> list[dict]:
    ext = EXTENSIONS.get(kind, "img")
    disk_type = "VMDK" if kind == "OVF" else kind
    files = [{"fileName": f"{v.get('name') or base}.{ext}", "fileSize": int(v.get("size") or 0), "type": disk_type,
              "fileUUID": new_uuid(), "fileSecret": secrets.token_hex(16), "md5": ""} for v in volumes]
    if kind == "OVF":
        desc = {"fileName": f"{base}.ovf", "type": "OVF", "fileUUID": new_uuid(), "fileSecret": secrets.token_hex(16)}
        files.insert(0, desc)
        xml = ovf_descriptor(files)
        desc.update(fileSize=len(xml), md5=hashlib.md5(xml).hexdigest())
    return files

"""Chunked uploads as the SDK's upload example drives them (`upload-svt-image`,
`upload-elf-image`, `upload-content-library-image`; also `upload-cloudtower-application-package`
and `upload-elf-file`, an OVF): multipart `file` chunks of at most
8 MiB; the first chunk (no `upload_task_id`) opens an UploadTask of the image's resource type
and declares the total `size` (with `size_unit`, bytes by default); every later chunk names
that `upload_task_id`. Each chunk moves `current_chunk` on; when the declared size is in,
the task is SUCCESSED and the image (SvtImage / ElfImage / ContentLibraryImage with its
per-cluster ElfImages) exists. Answers are `[UploadTask]`."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import fill_required, not_found_id, now_iso, require_row, where_rows
from .storage import has, to_bytes

CHUNK = 8 * 1024 * 1024
KINDS = {   # operation: (UploadResourceType, what the upload makes)
    "upload-svt-image": ("SVT_IMAGE", "SvtImage"),
    "upload-elf-image": ("ELF_IMAGE", "ElfImage"),
    "upload-content-library-image": ("CONTENT_LIBRARY_IMAGE", "ContentLibraryImage"),
    "upload-cloudtower-application-package": ("CLOUDTOWER_APPLICATION_PACKAGE", "CloudTowerApplicationPackage"),
    "upload-elf-file": ("OVF", None),          # an OVF / OVA, parsed later by its own operation
}
NO_CLUSTER = ("CLOUDTOWER_APPLICATION_PACKAGE",)


def _received(ctx: Ctx) -> dict:
    return ctx.world.extras.setdefault("upload_bytes", {})


def _chunk_len(ctx: Ctx) -> int:
    f = (ctx.files or {}).get("file")
    if f is None:
        raise bad_request("multipart field 'file' is required", "缺少 multipart 字段 'file'")
    data = f.read() if hasattr(f, "read") else bytes(f)
    if not data:
        raise bad_request("file: the chunk is empty", "file: 分片为空")
    if len(data) > CHUNK:
        raise bad_request(f"file: a chunk is at most {CHUNK} bytes, got {len(data)}",
                          f"file: 分片最大 {CHUNK} 字节, 实际为 {len(data)}")
    return len(data)


def _clusters(ctx: Ctx, form: dict, kind: str) -> list[str]:
    if kind == "CONTENT_LIBRARY_IMAGE":
        raw = form.get("clusters") or ""
        try:
            ids = json.loads(raw)
        except ValueError:
            ids = [x.strip() for x in raw.split(",") if x.strip()]
        if isinstance(ids, dict):
            # a ClusterWhereInput, as the Go SDK's upload example sends (`{"id": "..."}`)
            ids = [row["id"] for row in where_rows(ctx, "Cluster", ids)]
            if not ids:
                raise bad_request(f"clusters: no cluster matches {raw}", f"clusters: 没有匹配 {raw} 的集群")
        ids = ids if isinstance(ids, list) else [ids]
        if not ids:
            raise bad_request("clusters: at least one cluster id is required", "clusters: 至少需要一个集群")
        return [require_row(ctx, "Cluster", i, "clusters")["id"] for i in ids]
    if kind in NO_CLUSTER:
        return []
    if not form.get("cluster_id"):
        raise bad_request("cluster_id: required for the first chunk", "cluster_id: 首个分片必须提供")
    return [require_row(ctx, "Cluster", form["cluster_id"], "cluster_id")["id"]]


def _open(ctx: Ctx, form: dict, kind: str, n: int) -> dict:
    name = (form.get("name") or "").strip()
    if not name:
        raise bad_request("name: required for the first chunk", "name: 首个分片必须提供")
    try:
        size = to_bytes(int(str(form.get("size")).strip()), form.get("size_unit"))
    except ValueError:
        raise bad_request(f"size: '{form.get('size')}' is not a number of bytes", f"size: '{form.get('size')}' 不是数字")
    if size <= 0:
        raise bad_request("size: the total size of the file is required and must be positive", "size: 必须大于 0")
    if n > size and not _padded(n):
        raise bad_request(f"file: the chunk ({n} bytes) is larger than the declared size ({size})",
                          "file: 分片大于声明的文件大小")
    clusters = _clusters(ctx, form, kind)
    args = {k: v for k, v in form.items() if k not in ("upload_task_id",) and isinstance(v, str)}
    args["clusters"] = clusters
    now = now_iso(ctx)
    row = {"args": args, "chunk_size": CHUNK, "current_chunk": 0, "resource_type": kind, "size": size,
           "status": "UPLOADING", "started_at": now, "finished_at": None, "updatedAt": now}
    return ctx.store.insert("UploadTask", fill_required(ctx, "UploadTask", row))


def _continue(ctx: Ctx, task_id: str, kind: str, n: int) -> dict:
    task = ctx.store.get("UploadTask", task_id)
    if task is None:
        raise not_found_id("upload_task_id", "UploadTask", task_id)
    if task.get("resource_type") != kind:
        raise bad_request(f"upload_task_id: upload task {task_id} uploads a {task.get('resource_type')}, not a {kind}",
                          f"upload_task_id: 上传任务 {task_id} 的类型为 {task.get('resource_type')}")
    if task.get("status") != "UPLOADING":
        raise bad_request(f"upload_task_id: upload task {task_id} is {task.get('status')}",
                          f"upload_task_id: 上传任务 {task_id} 状态为 {task.get('status')}")
    if _received(ctx).get(task_id, 0) + n > int(task.get("size") or 0) and not _padded(n):
        raise bad_request(f"file: more data than the declared size ({task.get('size')} bytes)",
                          "file: 上传的数据超过声明的文件大小")
    return task


def _padded(n: int) -> bool:
    """A full 8 MiB buffer running past the declared size is the last chunk with padding: the
    Java SDK's upload example reads into a fixed 8 MiB array and sends it whole. The tail is dropped."""
    return n == CHUNK


@operation(*KINDS)
def upload(ctx: Ctx, body: Any):
    kind, model = KINDS[ctx.op.name]
    form = body if isinstance(body, dict) else {}
    n = _chunk_len(ctx)
    tid = form.get("upload_task_id")
    task = _continue(ctx, tid, kind, n) if tid else _open(ctx, form, kind, n)
    got = _received(ctx)
    got[task["id"]] = got.get(task["id"], 0) + min(n, int(task.get("size") or 0) - got.get(task["id"], 0))
    now = now_iso(ctx)
    changes = {"current_chunk": int(task.get("current_chunk") or 0) + 1, "updatedAt": now}
    if got[task["id"]] >= int(task.get("size") or 0):
        changes.update({"status": "SUCCESSED", "finished_at": now})
        got.pop(task["id"], None)
        make_image(ctx, model, task["args"], int(task["size"]))
    ctx.store.update("UploadTask", task["id"], changes)
    answer = ctx.store.render("UploadTask", ctx.store.get("UploadTask", task["id"]))
    return answer if ctx.op.response_kind == "bare" else [answer]


def _version(value: Any) -> int:
    """An SvtImage's int32 version from the ISO's version text (`2.12.1` -> 21201)."""
    parts = [int(p) for p in re.findall(r"\d+", str(value or ""))][:3]
    if not parts:
        return 0
    while len(parts) < 3:
        parts.append(0)
    return min(parts[0] * 10000 + parts[1] * 100 + parts[2], 2 ** 31 - 1)


def _image_row(ctx: Ctx, model: str, args: dict, size: int, cluster: str | None, folder: str) -> dict:
    now = now_iso(ctx)
    row = {"name": args.get("name"), "size": size, "path": f"/usr/share/smartx/{folder}/{uuid.uuid4()}",
           "description": args.get("description") or "", "local_id": str(uuid.uuid4()),
           "local_created_at": now, "createdAt": now, "entityAsyncStatus": None, "cluster": cluster,
           "version": _version(args.get("version")), "vm_disks": [], "labels": []}
    props = ctx.contract.resources[model].properties
    return {k: v for k, v in row.items() if k in props}


def make_image(ctx: Ctx, model: str | None, args: dict, size: int) -> None:
    if model is None or not has(ctx, model):
        return
    store = ctx.store
    if model == "CloudTowerApplicationPackage":
        row = {"name": args.get("name"), "version": str(args.get("version") or "1.0.0"), "containers": {},
               "images": {}, "architecture": "X86_64", "scosVersion": ""}
        props = ctx.contract.resources[model].properties
        store.insert(model, fill_required(ctx, model, {k: v for k, v in row.items() if k in props}))
        return
    clusters = args.get("clusters") or []
    if model in ("SvtImage", "ElfImage"):
        row = _image_row(ctx, model, args, size, clusters[0] if clusters else None, "images")
        store.insert(model, fill_required(ctx, model, row))
        return
    lib = _image_row(ctx, model, args, size, None, "content-library")
    if has(ctx, model, "clusters"):
        lib["clusters"] = clusters
    lib = store.insert(model, fill_required(ctx, model, lib))
    uuids = []
    for cl in clusters:
        if not has(ctx, "ElfImage"):
            break
        row = _image_row(ctx, "ElfImage", args, size, cl, "images")
        if has(ctx, "ElfImage", "content_library_image"):
            row["content_library_image"] = lib["id"]
        img = store.insert("ElfImage", fill_required(ctx, "ElfImage", row))
        uuids.append(img.get("local_id") or img["id"])
    if has(ctx, model, "elf_image_uuids"):
        store.update(model, lib["id"], {"elf_image_uuids": uuids})


@operation("cancel-upload-task")
def cancel(ctx: Ctx, body: Any):
    """Uploads still UPLOADING that the `where` matches stop (FAILED, their bytes dropped);
    answers the ids of the cancelled tasks."""
    rows = where_rows(ctx, "UploadTask", (body or {}).get("where"))
    now = now_iso(ctx)
    done = []
    for row in rows:
        if row.get("status") in ("UPLOADING", "INITIALIZING", "PAUSED"):
            ctx.store.update("UploadTask", row["id"], {"status": "FAILED", "finished_at": now, "updatedAt": now})
            _received(ctx).pop(row["id"], None)
            done.append(row["id"])
    return done

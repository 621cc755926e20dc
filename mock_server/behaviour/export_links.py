"""`get-export-file-download-links`: one link per file of an existing VM export (by its id or
its data port id), each served by the mock itself (mock_server/export_files.py); an unknown
export is a 404. An export whose files are not ready yet (no file) answers no link."""

from __future__ import annotations

from typing import Any

from ..export_files import file_link
from ..vnc.service import origins
from . import Ctx, operation
from .lookups import unique_row


@operation("get-export-file-download-links")
def export_file_download_links(ctx: Ctx, body: Any):
    where = body.get("where") if isinstance(body, dict) else None
    export = unique_row(ctx, "VmExportFile", where, "where")
    environ = getattr(ctx.headers, "environ", None) or {}
    origin = origins(environ)[1]
    namespace = ctx.headers.get("X-Mock-Namespace") if ctx.headers else None
    return [{"link": file_link(origin, namespace, export["id"], f), "filename": str(f.get("fileName") or "")}
            for f in export.get("files") or () if isinstance(f, dict) and f.get("fileUUID")]

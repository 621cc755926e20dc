"""The files of a VM export (VmExportFile.files), downloadable from the mock.

`get-export-file-download-links` answers one link per file of an export:
`<origin>/export-files/<namespace>/<export id>/<file UUID>/<file name>?secret=<fileSecret>`,
addressed by the file's UUID and opened by its secret, as a download link works without the
API token. `GET` (and `HEAD`) on it serves the file: `fileSize` bytes of zeros (the mock keeps
no disk contents: an empty disk image of the file's size), with `Content-Length`, an `ETag`
(the file UUID), `Content-Disposition` and single-range requests (`Range: bytes=a-b`, 206).
An unknown namespace, export or file is a 404, a wrong secret a 403, an unsatisfiable range a
416: JSON errors in the API's ErrorBody shape."""

from __future__ import annotations

import re
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Flask, Response, request

from .plain_errors import plain_error

PREFIX = "/export-files"
CHUNK = 1024 * 1024
_ZEROS = bytes(CHUNK)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def file_link(origin: str, namespace: str | None, export_id: str, f: dict) -> str:
    name = quote(str(f.get("fileName") or f.get("fileUUID") or "file"), safe="")
    return (f"{origin}{PREFIX}/{quote(namespace or 'default', safe='')}/{quote(export_id, safe='')}/"
            f"{quote(str(f.get('fileUUID')), safe='')}/{name}?secret={quote(str(f.get('fileSecret') or ''), safe='')}")


def ovf_descriptor(files: list[dict]) -> bytes:
    """The OVF 1.0 descriptor of an export: its disk files (every file but the descriptor),
    each a disk of the file's size. Derived from the export's `files` alone, so the recorded
    size and md5 of the descriptor are those of what the link serves."""
    disks = [f for f in files if f.get("type") != "OVF"]
    desc = next((f for f in files if f.get("type") == "OVF"), {})
    name = str(desc.get("fileName") or "vm.ovf").rsplit(".", 1)[0]
    refs = "".join(f'    <File ovf:href="{escape(str(f.get("fileName")))}" ovf:id="file{i}" ovf:size="{int(f.get("fileSize") or 0)}"/>\n'
                   for i, f in enumerate(disks, 1))
    caps = "".join(f'    <Disk ovf:capacity="{int(f.get("fileSize") or 0)}" ovf:diskId="vmdisk{i}" ovf:fileRef="file{i}" '
                   f'ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>\n'
                   for i, f in enumerate(disks, 1))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">\n'
            f'  <References>\n{refs}  </References>\n'
            f'  <DiskSection>\n    <Info>Virtual disks</Info>\n{caps}  </DiskSection>\n'
            f'  <VirtualSystem ovf:id="{escape(name)}">\n    <Info>A virtual machine</Info>\n'
            f'    <Name>{escape(name)}</Name>\n  </VirtualSystem>\n</Envelope>\n').encode()


def _zeros(n: int):
    while n > 0:
        k = min(n, CHUNK)
        yield _ZEROS if k == CHUNK else bytes(k)
        n -= k


def _find(state, namespace: str, export_id: str, file_uuid: str) -> tuple[dict | None, str | None, list]:
    world = state.worlds.get(namespace)
    if world is None:
        return None, f"namespace {namespace} does not exist", []
    with world.store.lock:
        row = world.store.get("VmExportFile", export_id) if "VmExportFile" in world.store.tables else None
        files = list((row or {}).get("files") or ())
    if row is None:
        return None, f"VmExportFile {export_id} does not exist", []
    files = [f for f in files if isinstance(f, dict)]
    f = next((f for f in files if f.get("fileUUID") == file_uuid), None)
    return (f, None, files) if f is not None else (None, f"export {export_id} has no file {file_uuid}", [])


def register_export_files(app: Flask, state) -> None:
    def download(namespace: str, export_id: str, file_uuid: str, name: str):
        f, why, files = _find(state, namespace, export_id, file_uuid)
        if f is None:
            return plain_error(404, why)
        if request.args.get("secret") != str(f.get("fileSecret") or ""):
            return plain_error(403, "the secret of this download link is missing or wrong")
        size = max(0, int(f.get("fileSize") or 0))
        content = ovf_descriptor(files) if f.get("type") == "OVF" else None
        if content is not None and len(content) != size:
            content = None                 # a descriptor of another shape: its size in zeros
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{file_uuid}"',
                   "Content-Disposition": f"attachment; filename*=UTF-8''{quote(str(f.get('fileName') or name))}"}
        start, end, status = 0, size - 1, 200
        m = _RANGE.match(request.headers.get("Range", "").strip())
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:                                  # bytes=-n: the last n bytes
                start = max(0, size - int(m.group(2)))
            if start >= size or start > end:
                return plain_error(416, f"range not satisfiable: the file has {size} bytes",
                              {"Content-Range": f"bytes */{size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            body = []
        else:
            body = [content[start:start + length]] if content is not None else _zeros(length)
        return Response(body, status=status, headers=headers, mimetype="application/octet-stream",
                        direct_passthrough=True)

    app.add_url_rule(f"{PREFIX}/<namespace>/<export_id>/<file_uuid>/<path:name>", "export_file_download",
                     download, methods=["GET", "HEAD"])

"""Recording a real CloudTower into a world file the mock can serve.

`cloudtower-mock record --base-url URL --username U --password P -o FILE` logs in and
crawls, read-only, every standard list query of the contract (`get-<plural>`), page by
page (`first` + `after` = the last id of the previous page, default order is by id), within
a budget of requests, reporting progress on stderr. The file holds the records as the API
rendered them, with secrets masked (string fields named like password, token, secret,
private, credential or `<qualifier>_key` become "***"; see `is_secret`):

    {"format": "cloudtower-mock-recording", "version": 1, "contract": {...},
     "complete": true, "resources": {"Vm": [{...}, ...], ...}}

`serve --world FILE` (and `POST /_mock/seed {"world": FILE}`) load it with
:func:`load_recorded`: a relation rendered as a Nested projection becomes the stored id
(or list of ids) on the side the store keeps (`store.plans`); the derived side is rebuilt by
the store. References to records that were not recorded (a crawl cut by the budget) are
dropped.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, TextIO

FORMAT = "cloudtower-mock-recording"
VERSION = 1
MASK = "***"
# password, secret, token, private, credential anywhere; keys with a qualifier (api_key,
# private_key, access_key). A bare `key` is an identifier in CloudTower (a label's key, a
# task's key, a disk's bus key) and is kept. Metadata about a secret (password_updated_at,
# password_expired, token_type...) is kept too.
_SECRET = re.compile(r"(password|passwd|passphrase|secret|token|private|credential|.+_keys?$)", re.I)
_NOT_SECRET = re.compile(r"_(at|time|expired|expire|expires|enabled|length|policy|type|id|count|exists)$", re.I)


class RecordError(Exception):
    pass


def is_secret(name: str) -> bool:
    return bool(_SECRET.search(name)) and not _NOT_SECRET.search(name)


def mask(value: Any, relations: frozenset[str] | set[str] = frozenset()) -> Any:
    """Replace string values of secret-named keys by "***", at any depth (relation
    projections - ids and names of other records - are left alone)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in relations:
                out[k] = v
            elif isinstance(v, str) and is_secret(k):
                out[k] = MASK
            else:
                out[k] = mask(v)
        return out
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


# --------------------------------------------------------------------------- crawl
class Client:
    def __init__(self, base_url: str, timeout: float = 60.0):
        base = base_url.rstrip("/")
        if base.endswith("/v2/api"):
            base = base[: -len("/v2/api")]
        self.base = base
        self.timeout = timeout
        self.token: str | None = None
        self.requests = 0

    def post(self, op: str, body: Any) -> Any:
        data = json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}/v2/api/{op}", data=data, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        if self.token:
            req.add_header("Authorization", self.token)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise RecordError(f"{op}: HTTP {e.code}: {detail}") from None
        except urllib.error.URLError as e:
            raise RecordError(f"{op}: cannot reach {self.base}: {e.reason}") from None

    def login(self, username: str, password: str, source: str | None) -> None:
        body = {"username": username, "password": password}
        if source:
            body["source"] = source
        resp = self.post("login", body)
        try:
            self.token = resp["data"]["token"]
        except (TypeError, KeyError):
            raise RecordError(f"login: unexpected answer {str(resp)[:200]}") from None


def crawl(contract, base_url: str, username: str, password: str, source: str | None = "LOCAL",
          budget: int = 2000, page_size: int = 200, progress: TextIO | None = sys.stderr,
          models: list[str] | None = None) -> dict:
    """Crawl every standard list query; returns the recording document."""
    if page_size < 1:
        raise RecordError("page size must be at least 1")
    client = Client(base_url)
    client.login(username, password, source)
    resources: dict[str, list] = {}
    errors: dict[str, str] = {}
    complete = True
    todo = [(m, r) for m, r in sorted(contract.resources.items()) if r.list_path and (models is None or m in models)]
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress is not None:
            print(msg, file=progress, flush=True)

    for k, (model, res) in enumerate(todo, 1):
        op = res.list_path.lstrip("/")
        relations = frozenset(res.relations)
        rows: list = []
        after = None
        while True:
            if client.requests >= budget:
                complete = False
                break
            body: dict[str, Any] = {"first": page_size}
            if after is not None:
                body["after"] = after
            try:
                page = client.post(op, body)
            except RecordError as e:
                errors[model] = str(e)
                break
            if not isinstance(page, list):
                errors[model] = f"{op}: expected a list, got {type(page).__name__}"
                break
            rows.extend(mask(r, relations) for r in page if isinstance(r, dict))
            if len(page) < page_size or not isinstance(page[-1], dict) or not page[-1].get("id"):
                break
            after = page[-1]["id"]
        if rows:
            resources[model] = rows
        say(f"[{k}/{len(todo)}] {model}: {len(rows)} records ({client.requests}/{budget} requests, "
            f"{time.perf_counter() - t0:.1f}s)" + (f" - {errors[model]}" if model in errors else ""))
        if client.requests >= budget and k < len(todo):
            complete = False
            say(f"budget of {budget} requests spent; {len(todo) - k} resource types not recorded")
            break
    return {
        "format": FORMAT, "version": VERSION,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base_url": client.base, "contract": {"version": contract.version, "source": contract.source},
        "complete": complete and not errors, "requests": client.requests, "page_size": page_size,
        "errors": errors, "resources": resources,
    }


def write_recording(doc: dict, path: str | Path) -> None:
    from .persistence import atomic_write
    atomic_write(path, json.dumps(doc, ensure_ascii=False, indent=None, separators=(",", ":")).encode())


# ---------------------------------------------------------------------------- load
def is_recording(path: str | Path) -> bool:
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and FORMAT.encode() in head


def read_recording(path: str | Path) -> dict:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise RecordError(f"cannot read recording {p}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise RecordError(f"recording {p} is not valid JSON: line {e.lineno}: {e.msg}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RecordError(f"{p} is not a cloudtower-mock recording (format must be '{FORMAT}')")
    if doc.get("version") != VERSION:
        raise RecordError(f"{p}: unsupported recording version {doc.get('version')!r}")
    if not isinstance(doc.get("resources"), dict):
        raise RecordError(f"{p}: 'resources' must be an object")
    return doc


def load_recorded(contract, path: str | Path, on_skip: Callable[[str], None] | None = None):
    """A Store holding the recorded records (relations as stored ids)."""
    from .store import Store
    doc = read_recording(path)
    store = Store(contract)
    pending: dict[str, list[dict]] = {}
    for model, records in doc["resources"].items():
        res = contract.resources.get(model)
        if res is None:
            if on_skip:
                on_skip(f"{model}: not a resource type of CloudTower {contract.version}")
            continue
        if not isinstance(records, list):
            raise RecordError(f"{path}: resources.{model} must be a list")
        plans = store.plans[model]
        rows = []
        for i, rec in enumerate(records):
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
                raise RecordError(f"{path}: resources.{model}[{i}] has no string id")
            row: dict[str, Any] = {}
            for name, value in rec.items():
                if name not in res.properties:
                    continue
                plan = plans.get(name) if name in res.relations else None
                if plan is None and name in res.relations:
                    continue
                if plan is not None:
                    if not plan.stored:
                        continue
                    if plan.many:
                        row[name] = [v["id"] for v in value or [] if isinstance(v, dict) and v.get("id")]
                    else:
                        row[name] = value.get("id") if isinstance(value, dict) else None
                else:
                    row[name] = value
            rows.append(row)
        pending[model] = rows
    _merge_projection_extras(contract, doc["resources"], pending)
    present = {m: {r["id"] for r in rows} for m, rows in pending.items()}
    for model, rows in pending.items():
        stored = [(f, p) for f, p in store.plans[model].items() if p.stored]
        fixed = []
        for row in rows:
            changes = {}
            for f, p in stored:
                if f not in row:
                    continue
                ids = present.get(p.target, set())
                v = row[f]
                if p.many:
                    kept = [x for x in v if x in ids]
                    if len(kept) != len(v):
                        changes[f] = kept
                elif v is not None and v not in ids:
                    changes[f] = None
            fixed.append({**row, **changes} if changes else row)
        store.insert_many(model, fixed)
    return store


def _merge_projection_extras(contract, resources: dict, pending: dict[str, list[dict]]) -> None:
    """Some projections embed fields the target's own listing does not render (a GPU
    device's `vgpu_instance_on_vm_num` inside `VmGpuInfo.gpu_devices`). The store keeps
    such values on the target row, so put them back there."""
    extras: dict[str, dict[str, dict]] = {}
    for model, records in resources.items():
        res = contract.resources.get(model)
        if res is None or not isinstance(records, list):
            continue
        for rec in records:
            if not isinstance(rec, dict):
                continue
            for name, rel in res.relations.items():
                tres = contract.resources.get(rel.target)
                value = rec.get(name)
                if tres is None or value is None:
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                        continue
                    for k, v in item.items():
                        if k not in tres.properties:
                            extras.setdefault(rel.target, {}).setdefault(item["id"], {}).setdefault(k, v)
    for model, by_id in extras.items():
        rows = pending.get(model)
        if not rows:
            continue
        for i, row in enumerate(rows):
            add = by_id.get(row["id"])
            if add:
                rows[i] = {**{k: v for k, v in add.items() if k not in row}, **row}

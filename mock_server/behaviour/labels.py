"""Labels for real: a key+value pair is unique; `add-labels-to-resources` /
`remove-labels-from-resources` link labels to VMs, hosts, clusters... (each `data` key is a
relation of Label, its value a WhereInput of that resource), writing whichever side of the
pair the store keeps, and the label's `<resource>_num` / `total_num` counts follow."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from . import Ctx, operation
from .mutations import (body_items, fill_required, locked_rows, now_iso, refuse_duplicate, respond,
                        row_restorer, start_task, where_rows)


def _count_field(ctx: Ctx, rel: str) -> str | None:
    props = ctx.contract.resources["Label"].properties
    cands = [rel[:-1] + "_num", rel[:-2] + "_num"]
    if rel.endswith("ies"):
        cands.insert(0, rel[:-3] + "y_num")
    return next((c for c in cands if c in props), None)


def recount(ctx: Ctx, label_id: str) -> None:
    store = ctx.store
    row = store.get("Label", label_id)
    if row is None:
        return
    res = ctx.contract.resources["Label"]
    changes, total = {}, 0
    for rel in res.relations:
        f = _count_field(ctx, rel)
        n = len(store.related_ids("Label", row, rel) or [])
        total += n
        if f and row.get(f) != n:
            changes[f] = n
    if "total_num" in res.properties and row.get("total_num") != total:
        changes["total_num"] = total
    if changes:
        store.update("Label", label_id, changes)


def _pair(item: dict) -> tuple[str, Any]:
    return item.get("key"), item.get("value")


@operation("create-label")
def create_label(ctx: Ctx, body: Any):
    store = ctx.store
    items = body_items(body)
    seen = set()
    for i, item in enumerate(items):
        key, value = _pair(item)
        if not key:
            raise bad_request(f"[{i}].key: must not be empty", f"[{i}].key: 不能为空")
        if (key, value) in seen:
            raise bad_request(f"[{i}]: label {key}={value} is given twice", f"[{i}]: 标签 {key}={value} 重复")
        seen.add((key, value))
        _refuse(ctx, key, value)
    now = now_iso(ctx)
    made = []
    for item in items:
        row = {"key": item["key"], "value": item.get("value"), "createdAt": now}
        label = store.insert("Label", fill_required(ctx, "Label", row))
        recount(ctx, label["id"])
        made.append(label)
    results = [(start_task(ctx, "Label", r["id"], "create", name=f"{r['key']}={r.get('value')}"), "Label", r["id"])
               for r in made]
    return respond(ctx, results)


def _refuse(ctx: Ctx, key: str, value: Any, exclude=()) -> None:
    for r in ctx.store.all("Label") if value is None else ():
        if r.get("key") == key and r.get("value") is None and r["id"] not in exclude:
            raise bad_request(f"label with key '{key}' and no value already exists", f"标签 {key} 已存在")
    if value is not None:
        refuse_duplicate(ctx, "Label", {"value": value, "key": key}, exclude=exclude, label="label")


@operation("update-label")
def update_label(ctx: Ctx, body: Any):
    store = ctx.store
    rows = locked_rows(ctx, "Label", body)
    data = (body or {}).get("data") or {}
    changes = {k: data[k] for k in ("key", "value") if k in data and (k != "key" or data[k])}
    after = [(r, {**r, **changes}) for r in rows]
    pairs = [(a.get("key"), a.get("value")) for _, a in after]
    if len(set(pairs)) != len(pairs):
        raise bad_request("data: the update would make several labels equal", "data: 更新后存在重复的标签")
    ids = [r["id"] for r in rows]
    for _, a in after:
        _refuse(ctx, a.get("key"), a.get("value"), exclude=ids)
    results = []
    for r, _ in after:
        if changes:
            store.update("Label", r["id"], changes)
        results.append((start_task(ctx, "Label", r["id"], "update", before=r), "Label", r["id"]))
    return respond(ctx, results)


def _targets(ctx: Ctx, data: dict) -> list[tuple[str, str, list[dict]]]:
    """[(relation of Label, target model, rows)] for every resource filter in `data`."""
    res = ctx.contract.resources["Label"]
    out = []
    for key, where in data.items():
        if where is None:
            continue
        rel = res.relations.get(key)
        if rel is None or not rel.many:
            raise bad_request(f"data.{key}: labels cannot be attached to this resource", f"data.{key}: 不支持")
        out.append((key, rel.target, where_rows(ctx, rel.target, where)))
    return out


def _link(ctx: Ctx, label_id: str, rel: str, target: str, rows: list[dict], add: bool) -> tuple[list, list]:
    """Link (or unlink) the label and the rows; returns (label rows before, target rows before)."""
    store = ctx.store
    plan = store.plans["Label"][rel]
    label_before, target_before = [], []
    if plan.stored:
        label = store.get("Label", label_id)
        cur = list(label.get(rel) or [])
        ids = [r["id"] for r in rows]
        new = cur + [i for i in ids if i not in cur] if add else [i for i in cur if i not in set(ids)]
        if new != cur:
            label_before.append(label)
            store.update("Label", label_id, {rel: new})
    elif plan.inverse is not None:
        sm, sf = plan.inverse
        for r in rows:
            cur = list(r.get(sf) or [])
            new = cur + [label_id] if add and label_id not in cur else [x for x in cur if x != label_id]
            if new != cur:
                target_before.append(r)
                store.update(sm, r["id"], {sf: new})
    return label_before, target_before


@operation("add-labels-to-resources", "remove-labels-from-resources")
def link_labels(ctx: Ctx, body: Any):
    add = ctx.op.name == "add-labels-to-resources"
    labels = locked_rows(ctx, "Label", body)
    targets = _targets(ctx, (body or {}).get("data") or {})
    results = []
    for label in labels:
        undo = []
        for rel, model, rows in targets:
            lb, tb = _link(ctx, label["id"], rel, model, rows, add)
            undo.append(row_restorer(ctx, "Label", lb))
            if tb:
                undo.append(row_restorer(ctx, model, tb))
        recount(ctx, label["id"])
        lid = label["id"]

        def rollback(undo=undo, lid=lid):
            for u in undo:
                u()
            recount(ctx, lid)
        tid = start_task(ctx, "Label", lid, "action", on_failure=rollback,
                         name=f"{label.get('key')}={label.get('value')}")
        results.append((tid, "Label", lid))
    return respond(ctx, results)

"""Generic behaviour for every mutation of the contract, derived from its family and schemas.

* create: one new record per item of the body (array, object or `{data: [...]}`); params
  whose names match scalar fields are copied, `<rel>_id` / `<rel>_ids` params resolve to
  stored relations (an unknown id is a 400), every other required field is synthesised.
* update: `{where, data}` applies `data` to every matched row, one task each.
* delete: `{where}` starts one delete task per matched row; `data` is `{id}`.
* action: one task per matched row (or, for array bodies, per item), answering the current
  record; actions whose answer is another resource make one such record per match.
* anything else (irregular `get`s, uploads, bare answers): a contract-conformant value.

Per-operation modules (vm.py, snapshots.py, iscsi.py) build on the helpers here.
"""

from __future__ import annotations

import operator
from functools import partial
from itertools import compress
from typing import Any, Iterable

from ..clock import iso
from ..contract.index import ref_name
from ..contract.validate import ValidationError
from ..errors import ApiError, bad_request
from . import Ctx, fallback, family
from .reads import find_rows
from .synth import synth_full, synth_value

# ---------------------------------------------------------------------------- basics


def engine(ctx: Ctx):
    eng = ctx.world.tasks
    if eng is not None:
        eng.instant = getattr(ctx.state.config, "task_speed", 1.0) == 0
    return eng


def camel(op_name: str) -> str:
    parts = op_name.split("-")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def user_id(ctx: Ctx) -> str | None:
    uid = (ctx.user or {}).get("id")
    if uid and "User" in ctx.store.tables and ctx.store.get("User", uid) is not None:
        return uid
    return None


def cluster_of(ctx: Ctx, model: str | None, row: dict | None) -> str | None:
    if not model or row is None:
        return None
    if model == "Cluster":
        return row["id"]
    plan = ctx.store.plans.get(model, {}).get("cluster")
    if plan is not None and not plan.many:
        return ctx.store.related_ids(model, row, "cluster")
    return None


def not_found_id(field: str, model: str, rid: Any) -> ApiError:
    return bad_request(f"{field}: {model} with id '{rid}' does not exist",
                       f"{field}: 不存在 id 为 '{rid}' 的 {model}")


def start_task(ctx: Ctx, model: str | None, rid: str | None, kind: str, *, mutation: str | None = None,
               changes: dict | None = None, before: dict | None = None, on_success=None, on_failure=None,
               steps: list[str] | None = None, description: str | None = None, name: str | None = None,
               extra_locks=None, lock: bool = True, async_status: bool = True) -> str | None:
    eng = engine(ctx)
    if eng is None:
        # no task engine: apply at once
        store = ctx.store
        if kind == "delete" and model and rid:
            store.delete(model, rid)
        elif changes and model and rid:
            store.update(model, rid, changes)
        if on_success:
            on_success()
        return None
    row = ctx.store.get(model, rid) if model and rid else None
    mutation = mutation or camel(ctx.op.name)
    return eng.start(model=model, resource_id=rid, kind=kind, mutation=mutation,
                     description=description or _describe(ctx, model, row, name),
                     op_name=ctx.op.name, user_id=user_id(ctx), cluster_id=cluster_of(ctx, model, row),
                     name=name, before=before, changes=changes, on_success=on_success,
                     on_failure=on_failure, steps=steps, extra_locks=extra_locks, lock=lock,
                     async_status=async_status)


def _describe(ctx: Ctx, model, row, name) -> str:
    what = ctx.op.name.replace("-", " ")
    label = name or (row.get("name") if row else None)
    return f"{what[:1].upper()}{what[1:]}" + (f" {label}" if label else "")


def check_unlocked(ctx: Ctx, model: str, rows: Iterable[dict]) -> None:
    eng = engine(ctx)
    if eng is not None:
        eng.check_unlocked(model, [r["id"] for r in rows], ctx.contract)


def now_iso(ctx: Ctx) -> str:
    """The task clock's now (epoch 0 without a task engine), as an ISO timestamp."""
    eng = ctx.world.tasks
    return iso(eng.clock.now()) if eng is not None else iso(0)


# ----------------------------------------------------------------------- body shapes


def body_items(body: Any) -> list[dict]:
    if isinstance(body, list):
        return [b for b in body if isinstance(b, dict)]
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, list) and set(body) <= {"data", "effect"}:
            return [b for b in data if isinstance(b, dict)]
        return [body]
    return []


def where_model(ctx: Ctx, op=None) -> str | None:
    """The resource a request's `where` filters (from its WhereInput's name)."""
    op = op or ctx.op
    if op.request_schema is None:
        return None
    props = ctx.contract.properties(op.request_schema)
    w = props.get("where")
    name = ref_name(w) if w else None
    if not name:
        return None
    for suffix in ("WhereUniqueInput", "WhereInput"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in ctx.contract.resources:
                return base
            for r in ctx.contract.resources.values():
                if r.where_input == name:
                    return r.name
    return None


def where_rows(ctx: Ctx, model: str, where: Any) -> list[dict]:
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise bad_request("where: expected an object", "where: 应为对象")
    # WhereUniqueInput {id?, local_id?}
    if where and set(where) <= {"id", "local_id"}:
        rows = []
        for k, v in where.items():
            rows.extend(ctx.store.find_by(model, k, v))
        return rows[:1] if rows else []
    return find_rows(ctx, model, {"where": where})


# ------------------------------------------------------------------ record building


def _relation_for_param(res, key: str):
    """(relation name, many) for a `<rel>_id` / `<rel>_ids` param, else None."""
    if key.endswith("_ids"):
        base = key[:-4]
        for cand in (base + "s", base + "es", base[:-1] + "ies" if base.endswith("y") else None, base):
            if cand and cand in res.relations and res.relations[cand].many:
                return cand, True
        return None
    if key.endswith("_id"):
        base = key[:-3]
        if base in res.relations and not res.relations[base].many:
            return base, False
        for cand in (base + "s", base + "es"):
            if cand in res.relations and res.relations[cand].many:
                return cand, True
    return None


def map_params(ctx: Ctx, model: str, params: dict, *, strict_ids: bool = True) -> tuple[dict, list]:
    """Row changes for `params`, plus derived-side links [(relation, [ids])] to write after."""
    res = ctx.contract.resources[model]
    store = ctx.store
    validator = ctx.state.validator
    changes: dict = {}
    links: list = []
    for key, value in params.items():
        if key in ("id", "entityAsyncStatus"):
            continue
        if key in res.scalar_fields and key in res.properties:
            if value is None and key in res.required:
                continue
            try:
                validator.validate(res.properties[key], value)
            except ValidationError:
                continue
            changes[key] = value
            continue
        hit = _relation_for_param(res, key)
        if hit is None or value is None:
            continue
        rel, many = hit
        target = res.relations[rel].target
        ids = value if isinstance(value, list) else [value]
        ids = [i for i in ids if isinstance(i, str)]
        for i in ids:
            if store.get(target, i) is None:
                if strict_ids:
                    raise not_found_id(key, target, i)
        ids = [i for i in ids if store.get(target, i) is not None]
        plan = store.plans[model][rel]
        if plan.stored:
            changes[rel] = ids if many else (ids[0] if ids else None)
        else:
            links.append((rel, ids))
    return changes, links


def apply_links(ctx: Ctx, model: str, rid: str, links: list) -> None:
    store = ctx.store
    for rel, ids in links:
        plan = store.plans[model][rel]
        if plan.inverse is None:
            continue
        sm, sf = plan.inverse
        splan = store.plans[sm][sf]
        for tid in ids:
            trow = store.get(sm, tid)
            if trow is None:
                continue
            if splan.many:
                cur = list(trow.get(sf) or [])
                if rid not in cur:
                    store.update(sm, tid, {sf: cur + [rid]})
            else:
                store.update(sm, tid, {sf: rid})


def fill_required(ctx: Ctx, model: str, row: dict, depth: int = 0) -> dict:
    """Complete a row with every required field (scalars synthesised, required to-one
    relations pointed at an existing row, or a synthesised one)."""
    store = ctx.store
    out = dict(row)
    plan, names, named = _fill_plan(ctx, model)
    # the plan's fields that are missing or null, picked without a Python-level loop
    for fname, kind, value in compress(plan, map(_is_none, map(out.get, names))):
        if kind == _CONST:
            out[fname] = value
        elif kind == _EMPTY_LIST:
            out[fname] = []
        elif kind == _SYNTH:
            out[fname] = synth_value(ctx.contract, value, fname)
        else:                                      # a required to-one relation: its target
            target = value
            ids = store.tables[target].ordered_ids() if target in store.tables else []
            if ids:
                out[fname] = ids[0]
            elif depth < 4 and target in ctx.contract.resources and target != model:
                out[fname] = store.insert(target, fill_required(ctx, target, {}, depth + 1))["id"]
    if named and not out.get("name"):
        out["name"] = f"{model.lower()}-{store.mint()[-6:]}"
    return out


_CONST, _EMPTY_LIST, _SYNTH, _RELATION = range(4)
_is_none = partial(operator.is_, None)


def _fill_plan(ctx: Ctx, model: str) -> tuple[list[tuple[str, int, Any]], tuple[str, ...], bool]:
    """How `fill_required` fills each required field of `model`, worked out once per
    contract: a constant (an enum's first value, 0, false, a plain empty string), a fresh
    empty list, a value synthesised per row (times, UUIDs, names, objects), or a relation.
    With the plan: its field names, and whether a missing `name` is made up."""
    contract = ctx.contract
    plans = contract.__dict__.setdefault("_fill_plans", {})
    hit = plans.get(model)
    if hit is not None:
        return hit
    res = contract.resources[model]
    store_plans = ctx.store.plans[model]
    plan = []
    for fname in dict.fromkeys(res.required):       # each once (the fields are filled in one pass)
        if fname == "id":
            continue
        if fname in res.relations:
            sp = store_plans.get(fname)
            if sp is None or not sp.stored:
                continue
            plan.append((fname, _EMPTY_LIST, None) if sp.many else (fname, _RELATION, sp.target))
            continue
        schema = res.properties.get(fname)
        plan.append((fname, *_scalar_plan(contract, schema, fname)))
    named = "name" in res.properties and "name" in res.required
    hit = plans[model] = (plan, tuple(f for f, _, _ in plan), named)
    return hit


def _scalar_plan(contract, schema: dict | None, fname: str) -> tuple[int, Any]:
    r = contract.resolve(schema) if isinstance(schema, dict) else {}
    t = r.get("type")
    if r.get("enum") or t in ("integer", "number", "boolean") or not isinstance(schema, dict):
        return _CONST, synth_value(contract, schema, fname)
    if t == "array" and not r.get("minItems"):
        return _EMPTY_LIST, None
    if t == "string":
        a, b = synth_value(contract, schema, fname), synth_value(contract, schema, fname)
        if a == b == "":                       # no time, counter or UUID in it
            return _CONST, ""
    return _SYNTH, schema


def new_record(ctx: Ctx, model: str, params: dict, *, extra: dict | None = None, depth: int = 0) -> dict:
    """Insert a new row built from params (not yet under a task)."""
    changes, links = map_params(ctx, model, params)
    if extra:
        changes.update(extra)
    res = ctx.contract.resources[model]
    if res.has_async_status:
        changes.setdefault("entityAsyncStatus", None)
    row = fill_required(ctx, model, changes, depth)
    row = ctx.store.insert(model, row)
    apply_links(ctx, model, row["id"], links)
    return ctx.store.get(model, row["id"])


# ------------------------------------------------------------------------- answers


def render_data(ctx: Ctx, data_schema: dict | None, model: str | None, rid: str | None) -> Any:
    """The `data` of a WithTask (or a bare item) for an affected row."""
    store = ctx.store
    name = ref_name(data_schema) if data_schema else None
    row = store.get(model, rid) if model and rid else None
    if name and name == model and row is not None:
        return store.render(model, row)
    if name and name in ctx.contract.resources and rid and store.get(name, rid) is not None:
        return store.render(name, store.get(name, rid))
    value = synth_value(ctx.contract, data_schema) if data_schema else {}
    if isinstance(value, dict):
        props = ctx.contract.properties(data_schema)
        if "id" in props and rid:
            value["id"] = rid
        if "entityAsyncStatus" in props and row is not None:
            value["entityAsyncStatus"] = row.get("entityAsyncStatus")
        if "name" in props and row is not None and row.get("name"):
            value["name"] = row["name"]
    return value


def respond(ctx: Ctx, results: list[tuple[str | None, str | None, str | None]]) -> Any:
    """Shape [(task_id, model, row id)] as the operation's 200 answer."""
    op = ctx.op
    kind = op.response_kind
    contract = ctx.contract
    if kind == "withtask_list":
        data_schema = contract.withtask_data_schema(op)
        if contract.resolve(data_schema).get("type") == "array":
            items = contract.resolve(data_schema).get("items")
            return [{"task_id": t, "data": [render_data(ctx, items, m, r)]} for t, m, r in results]
        return [{"task_id": t, "data": render_data(ctx, data_schema, m, r)} for t, m, r in results]
    if kind == "withtask":
        data_schema = contract.withtask_data_schema(op)
        resolved = contract.resolve(data_schema)
        if resolved.get("type") == "array":
            items = resolved.get("items")
            return {"task_id": results[0][0] if results else None,
                    "data": [render_data(ctx, items, m, r) for _, m, r in results]}
        if results:
            t, m, r = results[0]
            return {"task_id": t, "data": render_data(ctx, data_schema, m, r)}
        return {"task_id": None, "data": synth_full(contract, data_schema)}
    if kind in ("list", "bare_list"):
        items = (op.response_schema or {}).get("items")
        if ref_name(items) or contract.resolve(items).get("type") == "object":
            return [render_data(ctx, items, m, r) for _, m, r in results]
        return [synth_value(contract, items) if r is None else r for _, m, r in results]
    if kind == "bare":
        if results:
            _, m, r = results[0]
            return render_data(ctx, op.response_schema, m, r)
        return synth_full(contract, op.response_schema)
    if kind == "string":
        return ""
    return None


# ------------------------------------------------------------------------ families


@family("create")
def generic_create(ctx: Ctx, body: Any):
    model = ctx.op.resource
    if model is None:
        return generic_fallback(ctx, body)
    if isinstance(body, dict) and "where" in body and isinstance(body.get("data"), dict):
        return generic_update(ctx, body)
    results = []
    rows = []
    for item in body_items(body):
        _check_parents(ctx, model, item)
        rows.append(new_record(ctx, model, item))
    for row in rows:
        tid = start_task(ctx, model, row["id"], "create", name=row.get("name"))
        results.append((tid, model, row["id"]))
    return respond(ctx, results)


def _check_parents(ctx: Ctx, model: str, item: dict) -> None:
    """Unknown `<x>_id` params are a 400 even when they name no relation of the record."""
    store = ctx.store
    for key, value in item.items():
        if not key.endswith("_id") or not isinstance(value, str):
            continue
        base = key[:-3]
        target = _model_for_stem(ctx, base)
        if target and target in store.tables and store.get(target, value) is None:
            res = ctx.contract.resources[model]
            hit = _relation_for_param(res, key)
            if hit is None or res.relations[hit[0]].target == target:
                raise not_found_id(key, target, value)


def _model_for_stem(ctx: Ctx, stem: str) -> str | None:
    camel_name = "".join(p[:1].upper() + p[1:] for p in stem.split("_"))
    fixes = {"Vm": "Vm", "Lun": "IscsiLun", "Target": "IscsiTarget", "IscsiLun": "IscsiLun",
             "Snapshot": None, "Volume": "VmVolume", "SrcLun": "IscsiLun", "DestIscsiTarget": "IscsiTarget"}
    if camel_name in fixes:
        return fixes[camel_name]
    return camel_name if camel_name in ctx.contract.resources else None


def _data_of(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    data = body.get("data")
    if isinstance(data, dict):
        return data
    return {k: v for k, v in body.items() if k not in ("where", "data", "effect")}


@family("update")
def generic_update(ctx: Ctx, body: Any):
    model = ctx.op.resource
    wmodel = where_model(ctx) or model
    if wmodel is None or wmodel not in ctx.contract.resources:
        return generic_fallback(ctx, body)
    if isinstance(body, dict) and "where" in body:
        rows = where_rows(ctx, wmodel, body.get("where"))
    else:
        rows = _singleton_rows(ctx, wmodel, body)
    check_unlocked(ctx, wmodel, rows)
    data = _data_of(body)
    prepared = [(row, *map_params(ctx, wmodel, data)) for row in rows]
    results = []
    for row, changes, links in prepared:
        before = row
        if changes:
            ctx.store.update(wmodel, row["id"], changes)
        apply_links(ctx, wmodel, row["id"], links)
        tid = start_task(ctx, wmodel, row["id"], "update", before=before)
        results.append((tid, wmodel, row["id"]))
    return respond(ctx, results)


def _singleton_rows(ctx: Ctx, model: str, body: Any) -> list[dict]:
    store = ctx.store
    if isinstance(body, dict):
        for key in ("id", model[:1].lower() + model[1:] + "_id"):
            if isinstance(body.get(key), str):
                row = store.get(model, body[key])
                return [row] if row else []
    ids = store.tables[model].ordered_ids()
    if ids:
        return [store.get(model, ids[0])]
    return [new_record(ctx, model, {})]


@family("delete")
def generic_delete(ctx: Ctx, body: Any):
    model = where_model(ctx) or ctx.op.resource
    if model is None or model not in ctx.contract.resources:
        return generic_fallback(ctx, body)
    rows = where_rows(ctx, model, (body or {}).get("where") if isinstance(body, dict) else None)
    check_unlocked(ctx, model, rows)
    for row in rows:
        refuse_while_in_use(ctx, model, row)
    results = []
    for row in rows:
        tid = start_task(ctx, model, row["id"], "delete")
        results.append((tid, model, row["id"]))
    return respond(ctx, results)


# What a delete is refused for while it is in use (SMTX OS refuses to remove a VM network
# or a VDS that VMs are connected to): model -> (path to the networks, the users' relation).
IN_USE = {"Vlan": ((), ("VmNic", "vlan")), "Vds": (("vlans",), ("VmNic", "vlan"))}


def refuse_while_in_use(ctx: Ctx, model: str, row: dict) -> None:
    rule = IN_USE.get(model)
    if rule is None:
        return
    path, (user_model, user_field) = rule
    store = ctx.store
    if user_model not in store.tables or user_field not in store.plans.get(user_model, {}):
        return
    targets = [row["id"]]
    for rel in path:
        targets = [t for x in targets for t in (store.related_ids(model, store.get(model, x), rel) or ())]
    users = sum(store.count_by(user_model, user_field, t) for t in targets)
    if users:
        name = row.get("name") or row["id"]
        raise bad_request(f"{model} {name} ({row['id']}) is in use by {users} VM NIC(s); "
                          f"disconnect them before deleting it",
                          f"{model} {name} 正被 {users} 个虚拟机网卡使用, 请先断开后再删除")


@family("action")
def generic_action(ctx: Ctx, body: Any):
    model = ctx.op.resource
    wmodel = where_model(ctx)
    if model is None and wmodel is None:
        return generic_fallback(ctx, body)
    if wmodel is not None and isinstance(body, dict):
        rows = where_rows(ctx, wmodel, body.get("where"))
        check_unlocked(ctx, wmodel, rows)
        results = []
        data = _data_of(body)
        for row in rows:
            if model is None or model == wmodel:
                changes, _ = map_params(ctx, wmodel, data, strict_ids=False)
                tid = start_task(ctx, wmodel, row["id"], "action", changes=changes or None)
                results.append((tid, wmodel, row["id"]))
            else:
                rec = _derived_record(ctx, model, wmodel, row, data)
                tid = start_task(ctx, model, rec["id"], "create", name=rec.get("name"))
                results.append((tid, model, rec["id"]))
        return respond(ctx, results)
    if model is not None and model in ctx.contract.resources:
        results = []
        pending = []
        for item in body_items(body):
            target = _item_target(ctx, model, item)
            if target is not None:
                check_unlocked(ctx, model, [target])
                pending.append(("action", target))
            else:
                _check_parents(ctx, model, item)
                pending.append(("create", new_record(ctx, model, item)))
        for kind, row in pending:
            tid = start_task(ctx, model, row["id"], kind, name=row.get("name"))
            results.append((tid, model, row["id"]))
        return respond(ctx, results)
    return generic_fallback(ctx, body)


def _derived_record(ctx: Ctx, model: str, source_model: str, source: dict, data: dict) -> dict:
    """A new `model` record produced by acting on `source` (export-vm → VmExportFile, ...)."""
    res = ctx.contract.resources[model]
    extra = {}
    for fname, rel in res.relations.items():
        if rel.target == source_model and ctx.store.plans[model][fname].stored:
            extra[fname] = [source["id"]] if rel.many else source["id"]
    return new_record(ctx, model, {k: v for k, v in data.items() if not k.endswith("_id")}, extra=extra)


def _item_target(ctx: Ctx, model: str, item: dict) -> dict | None:
    """An existing `model` row an array item points at (rollback-iscsi-lun's `lun_id`, ...)."""
    store = ctx.store
    for key, value in item.items():
        if isinstance(value, str) and (key == "id" or key.endswith("_id")):
            row = store.get(model, value)
            if row is not None and not key.startswith("src_") and "snapshot" not in key:
                return row
    return None


@fallback
def generic_fallback(ctx: Ctx, body: Any):
    """Irregular operations: a contract-conformant answer, rows where the answer is a resource."""
    op = ctx.op
    contract = ctx.contract
    wmodel = where_model(ctx)
    kind = op.response_kind
    schema = op.response_schema
    if kind in ("list", "bare_list", "withtask_list"):
        items = (schema or {}).get("items")
        item_name = ref_name(items)
        if kind == "withtask_list":
            data_schema = contract.withtask_data_schema(op)
            return [{"task_id": None, "data": synth_full(contract, data_schema)}]
        if item_name in contract.resources:
            model = item_name
            if wmodel == model and isinstance(body, dict):
                rows = where_rows(ctx, model, body.get("where"))
            else:
                rows = [r for r in (ctx.store.first(model),) if r is not None]
            return [ctx.store.render(model, r) for r in rows]
        return [synth_full(contract, items)]
    if kind == "withtask":
        return {"task_id": None, "data": synth_full(contract, contract.withtask_data_schema(op))}
    if kind == "bare":
        name = ref_name(schema)
        if name in contract.resources:
            row = ctx.store.first(name)
            if row is not None:
                return ctx.store.render(name, row)
        return synth_full(contract, schema)
    if kind == "string":
        return ""
    return synth_full(contract, schema) if schema else None


# --------------------------------------------------------- helpers for real behaviours


def require_row(ctx: Ctx, model: str, rid: Any, field: str) -> dict:
    """The row `rid` of `model`, or a 400 naming the field and the id."""
    row = ctx.store.get(model, rid) if isinstance(rid, str) and model in ctx.store.tables else None
    if row is None:
        raise not_found_id(field, model, rid)
    return row


def refuse_duplicate(ctx: Ctx, model: str, values: dict, *, scope: dict | None = None,
                     exclude: Iterable[str] = (), label: str | None = None) -> None:
    """400 when another `model` row has the same `values` (within `scope` {relation: id})."""
    store = ctx.store
    excluded = set(exclude)
    (first_field, first_value), = list(values.items())[:1]
    for r in store.find_by(model, first_field, first_value):
        if r["id"] in excluded or any(r.get(k) != v for k, v in values.items()):
            continue
        if scope and any(store.related_ids(model, r, k) != v for k, v in scope.items()):
            continue
        what = label or model
        shown = ", ".join(f"{k} '{v}'" for k, v in values.items())
        raise bad_request(f"{what} with {shown} already exists" + (" in this cluster" if scope else ""),
                          f"{what} {shown} 已存在")


def locked_rows(ctx: Ctx, model: str, body: Any) -> list[dict]:
    """The `model` rows the body's `where` matches, refused (ResourceLocked) while a task holds one."""
    rows = where_rows(ctx, model, (body or {}).get("where"))
    check_unlocked(ctx, model, rows)
    return rows


def row_restorer(ctx: Ctx, model: str, before: Iterable[dict], created: Iterable[str] = ()):
    """A rollback: drop the rows created, put back the rows as they were."""
    store = ctx.store
    before = [dict(r) for r in before]
    drop = row_dropper(ctx, model, created)

    def undo():
        drop()
        for row in before:
            store.put(model, row)
    return undo


def row_dropper(ctx: Ctx, model: str, ids: Iterable[str | None]):
    """A callback deleting the `model` rows `ids` that still exist (None skipped)."""
    store = ctx.store
    ids = [i for i in ids if i]

    def drop():
        for rid in ids:
            if store.get(model, rid) is not None:
                store.delete(model, rid)
    return drop


def chain(*fns):
    """One callback running each of `fns` (None skipped)."""
    fns = [f for f in fns if f is not None]
    if not fns:
        return None

    def run():
        for f in fns:
            f()
    return run

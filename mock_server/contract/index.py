"""The loaded OpenAPI document, indexed: operations by path, their families, resource types.

Everything here is derived from the document itself (a real CloudTower spec or the one
derived from the SDK), never from a hand-kept list of operations. Schema *names* differ
between the two sources (`WithTask_Vm_` in the spec, `WithTaskVm` from the SDK), so the
index follows `$ref`s and shapes rather than names wherever it can.
"""

from __future__ import annotations

from .operations import (ACTION, CONNECTION, CREATE, DELETE, GET, LIST, PAGINATION_KEYS, UPDATE,
                         Operation, OperationIndex)
from .resources import OPERATOR_SUFFIXES, Resource, ResourceIndex
from .schemas import REF_PREFIX, SchemaIndex, norm_name, ref_name

__all__ = ["Contract", "Operation", "Resource", "ref_name", "norm_name", "REF_PREFIX", "PAGINATION_KEYS",
           "OPERATOR_SUFFIXES", "LIST", "CONNECTION", "GET", "CREATE", "UPDATE", "DELETE", "ACTION"]


class Contract(SchemaIndex, OperationIndex, ResourceIndex):
    """An OpenAPI 3.0 CloudTower document with indexes built once: schemas (SchemaIndex),
    operations and their families (OperationIndex), resource types and the query schema
    (ResourceIndex)."""

    def __init__(self, doc: dict, source: str = "spec"):
        self.doc = doc
        self.source = source
        SchemaIndex.__init__(self, doc.get("components", {}).get("schemas", {}))
        info = doc.get("info", {})
        self.version: str = str(info.get("version", "unknown"))
        self.sdk_version: str | None = info.get("x-sdk-version")
        self.operations: dict[str, Operation] = {}
        self.resources: dict[str, Resource] = {}
        self._build_operations()
        self._build_resources()
        self._classify_mutations()

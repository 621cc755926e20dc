"""Failure rules of a task engine: which tasks fail, at which step, with which error."""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
from dataclasses import dataclass

# Realistic SMTX OS job errors: error_code -> (job code, message)
KNOWN_ERRORS = {
    "VM_DUPLICATED_NAME": ("CREATE_VM_FAILED", "VM name {name} already exists in the cluster"),
    "EAllocSpace": ("CREATE_VM_FAILED", "Failed to allocate space: not enough storage in the cluster"),
    "JOB_VM_SHUTDOWN_TIMEOUT": ("SHUTDOWN_VM_FAILED", "Shut down VM {name} timed out, the guest OS did not respond"),
    "HostAvailableMemoryFilter": ("START_VM_FAILED", "No host has enough available memory for VM {name}"),
    "VM_CLOUD_INIT_CONFIG_ERROR": ("CREATE_VM_FORM_TEMPLATE_FAILED", "cloud-init config of VM {name} is invalid"),
    "PLACEMENT_GROUP_DUPLICATE_NAME": ("CREATE_PLACEMENT_GROUP_FAILED", "placement group name {name} already exists"),
    "GPU_ASSIGN_FAILED": ("START_VM_FAILED", "failed to assign GPU devices to VM {name}"),
}
DEFAULT_ERROR = "EAllocSpace"


def wrap_error(code: str, text: str, job: str) -> str:
    """An error message the way CloudTower relays a failed SMTX OS job."""
    inner = json.dumps({"data": {}, "ec": code, "error": {"msg": f"[{code}] {text}"}}, separators=(",", ":"))
    return f"job failed, code: {job}, message: {inner}"


@dataclass
class FailureRule:
    id: str
    operation: str | None = None        # op name ("create-vm") or mutation name ("createVm")
    name_regex: str | None = None       # matched against the resource's name
    probability: float | None = None    # with the engine's seeded rng
    error_code: str = DEFAULT_ERROR
    error_message: str | None = None
    at_step: int | None = None          # 0-based step at which the task fails (default: last)
    times: int | None = None            # how many tasks it may fail (None = unlimited)
    hits: int = 0

    def public(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "operation", "name_regex", "probability", "error_code",
                                              "error_message", "at_step", "times", "hits")}


class FailureRules:
    """The rules of one engine, matched in creation order; probabilities use a seeded rng."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.by_id: dict[str, FailureRule] = {}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.rng = random.Random(seed)

    def clear(self) -> None:
        with self.lock:
            self.by_id.clear()
            self.rng = random.Random(self.seed)

    def add(self, operation: str | None = None, name_regex: str | None = None,
            probability: float | None = None, error_code: str | None = None,
            error_message: str | None = None, at_step: int | None = None,
            times: int | None = None, seed: int | None = None) -> str:
        if name_regex is not None:
            re.compile(name_regex)
        if probability is not None and not 0 <= probability <= 1:
            raise ValueError("probability must be within 0 .. 1")
        with self.lock:
            rid = f"rule-{next(self.ids)}"
            self.by_id[rid] = FailureRule(rid, operation, name_regex, probability,
                                          error_code or DEFAULT_ERROR, error_message, at_step, times)
            if seed is not None:
                self.rng = random.Random(seed)
            return rid

    def remove(self, rule_id: str) -> bool:
        with self.lock:
            return self.by_id.pop(rule_id, None) is not None

    def public(self) -> list[dict]:
        with self.lock:
            return [r.public() for r in self.by_id.values()]

    def match(self, op_name: str | None, mutation: str | None, name: str | None,
              nsteps: int) -> tuple[int, str, str] | None:
        """(failing step, error code, message) of the first rule this task meets, or None."""
        with self.lock:
            for rule in self.by_id.values():
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if rule.operation is not None and rule.operation not in (op_name, mutation):
                    continue
                if rule.name_regex is not None and not (name and re.search(rule.name_regex, name)):
                    continue
                if rule.probability is not None and self.rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                step = nsteps - 1 if rule.at_step is None else max(0, min(rule.at_step, nsteps - 1))
                job, text = KNOWN_ERRORS.get(rule.error_code, ("TASK_FAILED", "{code} occurred"))
                text = rule.error_message or text.format(name=name or "", code=rule.error_code)
                return step, rule.error_code, wrap_error(rule.error_code, text, job)
        return None

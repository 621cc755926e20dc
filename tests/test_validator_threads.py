"""Checks are compiled on first use by whichever request thread needs one: threads that
validate at the same time on a fresh validator never run a half-built (recursive) check."""

from __future__ import annotations

import sys
import threading

from mock_server.contract.validate import ValidationError, Validator

BODIES = [
    ("/get-vms", {"where": {"AND": [{"host": {"cluster": {"name_contains": "a"}}},
                                    {"OR": [{"vm_disks_some": {"vm_volume": {"name": "x"}}},
                                            {"NOT": [{"labels_some": {"vms_some": {"name": "y"}}}]}]}]}}),
    ("/get-hosts", {"where": {"OR": [{"vms_some": {"host": {"cluster": {"hosts_some": {"name": "h"}}}}}]}}),
    ("/get-vm-disks", {"where": {"vm": {"cluster": {"vms_some": {"vm_disks_some": {"vm": {"name": "z"}}}}}}}),
    ("/get-labels", {"where": {"NOT": [{"vms_some": {"labels_some": {"name_in": ["a", "b"]}}}]}}),
]


def test_concurrent_first_validations_are_safe(spec_contract):
    errors: list = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                  # switch threads as often as possible
    try:
        for _ in range(5):                       # a fresh validator each round: all compiled anew
            v = Validator(spec_contract)
            start = threading.Barrier(8)

            def run(k: int) -> None:
                start.wait()
                for i in range(len(BODIES)):
                    path, body = BODIES[(i + k) % len(BODIES)]
                    schema = spec_contract.operations[path].request_schema
                    try:
                        v.validate(schema, body)
                    except ValidationError:
                        pass                     # a refusal is an answer; a crash is not
                    except Exception as e:       # noqa: BLE001
                        errors.append(repr(e))
            threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []

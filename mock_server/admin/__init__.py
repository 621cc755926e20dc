"""The admin API under `/_mock/`, one small module per resource:

* `world`      - reset, seed, state export/import
* `namespaces` - the worlds in use
* `clock`      - the mock's clock
* `faults`     - HTTP faults and task failures
* `journal`    - the request journal
* `stubs`      - stubbed answers (matching and answering: mock_server/stubs.py)
* `requests`   - verification: how often an operation was called, with what
* `inventory`  - counts, the datacenter -> cluster -> host tree, paged records, a VM's chains
* `tasks`      - the task center
* `console`    - VM console links (VNC) and the status summary the dashboard polls
* `openapi`    - `GET /_mock/openapi.json`, assembled from each module's `paths()`
* `validation` - every request checked against that document before its handler runs

When the server runs with an admin token (`serve --admin-token T`), every admin call needs
`Authorization: Bearer T` or `X-Mock-Admin-Token: T`. Bad input gives 400 with a message naming
the field, and nothing is changed: every input is validated whole before it is applied.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, request

from ..journal import FaultRules, Journal, JournalMiddleware
from ..dispatch import EXT_KEY as API_EXT
from ..stubs import StubRules, stub_hook
from . import clock, console, faults, inventory, journal, namespaces, requests, stubs, tasks, world
from .clock import clock_info
from .common import (EXT_KEY, NAMESPACE_HEADER, PREFIX, AdminContext, AdminError, error_response,
                     parse_duration)
from .faults import add_fault, list_faults, remove_fault
from .openapi import admin_openapi
from .openapi import register as register_openapi
from .validation import AdminValidator
from .world import build_store

MODULES = (world, namespaces, clock, faults, journal, stubs, requests, inventory, tasks, console)

__all__ = ["EXT_KEY", "NAMESPACE_HEADER", "PREFIX", "AdminContext", "AdminError", "add_fault",
           "admin_openapi", "build_store", "clock_info", "list_faults", "parse_duration",
           "register_admin", "remove_fault"]


def register_admin(app: Flask, state, journal_size: int | None = None) -> AdminContext:
    """Mount `/_mock/` and wrap the app with the journal/fault middleware."""
    journal = Journal(journal_size, max_bytes=state.config.journal_max)
    ctx = AdminContext(state=state, journal=journal, faults=FaultRules())
    app.extensions[EXT_KEY] = ctx
    app.wsgi_app = JournalMiddleware(app.wsgi_app, ctx.journal, ctx.faults, clock=state.clock)
    # stubbed answers come from the dispatcher (journaled and counted like the world's answers)
    rules = ctx.extras.setdefault(stubs.EXT, StubRules())
    app.extensions[API_EXT].before.append(stub_hook(rules))
    bp = Blueprint("cloudtower_mock_admin", __name__, url_prefix=PREFIX)
    validator = AdminValidator(admin_openapi(state, MODULES))

    @bp.before_request
    def _gate():
        return _check_token(state) or validator.check_request()

    bp.register_error_handler(AdminError, lambda e: error_response(e.message, e.status))
    for module in MODULES:
        module.register(bp, ctx)
    register_openapi(bp, ctx, MODULES)
    app.register_blueprint(bp)
    return ctx


def _check_token(state):
    token = state.config.admin_token
    if not token:
        return None
    given = request.headers.get("X-Mock-Admin-Token")
    if given is None:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
    if given is None or not hmac.compare_digest(given.encode(), token.encode()):
        return error_response("the admin API needs 'Authorization: Bearer <admin token>' or "
                              "'X-Mock-Admin-Token: <admin token>'", 401)
    return None

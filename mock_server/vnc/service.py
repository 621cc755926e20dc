"""VNC for the mock's VMs: console info (get-vm-vnc-info, GraphQL `vnc`, the admin API),
the `/websockify/` websocket endpoint (RFB 3.8 inside), and the console sessions.

The console link follows CloudTower's documented form, on the mock's own address:
`ws[s]://<mock>/websockify/?token=<urlencoded base64 token>&uuid=<vm local_id>&host=<host ip>`
(through Tower), or with the 32-hex raw token (direct). Tokens are short-lived (tokens.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from ..errors import ApiError
from .console import Console
from .rfb import RfbSession
from .tokens import tokens_of
from .transport import SocketTransport
from .upgrade import consoles_of

WS_PATH = "/websockify/"
UI_CONSOLE = "/_mock/ui/console.html"


def find_vm(world, where: Any) -> dict | None:
    if not isinstance(where, dict):
        return None
    store = world.store
    if isinstance(where.get("id"), str):
        vm = store.get("Vm", where["id"])
        if vm is not None and (where.get("local_id") in (None, vm.get("local_id"))):
            return vm
        return None
    if isinstance(where.get("local_id"), str):
        rows = store.find_by("Vm", "local_id", where["local_id"])
        return rows[0] if rows else None
    return None


def vm_not_found(where: Any) -> ApiError:
    what = ", ".join(f"{k}: {v}" for k, v in where.items()) if isinstance(where, dict) and where else "{}"
    return ApiError(404, f"Vm not found ({what})", message_zh=f"虚拟机不存在 ({what})")


def _ips(store, vm: dict) -> tuple[str, str]:
    host = store.get("Host", vm["host"]) if vm.get("host") else None
    cluster = store.get("Cluster", vm["cluster"]) if vm.get("cluster") else None
    host_ip = (host or {}).get("management_ip") or (host or {}).get("data_ip") or ""
    return host_ip, (cluster or {}).get("ip") or ""


def console_info(state, namespace: str | None, world, vm: dict, base: str, http_base: str) -> dict:
    """Everything a client needs to open the VM's console, with a fresh token.

    `base` is the websocket origin (ws://host:port), `http_base` the page origin."""
    raw, token = tokens_of(state).mint(namespace, vm["id"])
    host_ip, cluster_ip = _ips(world.store, vm)
    uuid = vm.get("local_id") or ""
    via_tower = f"{base}{WS_PATH}?token={quote(token, safe='')}&uuid={uuid}&host={host_ip}"
    direct = f"{base}{WS_PATH}?uuid={uuid}&token={raw}&host={host_ip}"
    query = {"token": token, "uuid": uuid, "host": host_ip}
    if namespace and namespace != "default":
        query["namespace"] = namespace
    return {"vm_uuid": uuid, "host_ip": host_ip, "cluster_ip": cluster_ip, "raw_token": raw, "token": token,
            "redirect": via_tower, "direct": direct, "path": WS_PATH,
            "terminal": f"{http_base}{UI_CONSOLE}?{urlencode(query)}"}


def origins(environ) -> tuple[str, str]:
    """(websocket origin, http origin) of the request."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '')}"
    return ("wss" if scheme == "https" else "ws") + "://" + host, f"{scheme}://{host}"


def refusal(vm: dict | None) -> str | None:
    """Why a console cannot open now (None: it can)."""
    if vm is None:
        return "The VM no longer exists."
    status = vm.get("status")
    if status == "STOPPED":
        return f"VM {vm.get('name')} is STOPPED: start it to use its console."
    return None


def serve_console(state, world, vm_id: str, transport, stopping=None) -> None:
    """Serve one console client on `transport` (blocking; run on the session's thread)."""
    store = world.store
    vm = store.get("Vm", vm_id)
    why = refusal(vm)
    console = None
    if why is None:
        host = store.get("Host", vm["host"]) if vm.get("host") else None
        console = Console(vm, (host or {}).get("name") or "", now=state.clock.now)
    counter = consoles_of(state)
    counter.add(1)
    try:
        RfbSession(transport, console, source=lambda: store.get("Vm", vm_id), refuse=why,
                   stopping=stopping).run()
    finally:
        counter.add(-1)


def start_console(state, world, vm_id: str, transport, sessions) -> None:
    """Serve a console on a thread of the server's `sessions` (upgrade.Sessions)."""
    sessions.start(transport, lambda: serve_console(state, world, vm_id, transport, sessions.stopping))


def tcp_transport(sock) -> SocketTransport:
    return SocketTransport(sock)

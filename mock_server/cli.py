"""`cloudtower-mock`: serve the mock, export the contract it runs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from .state import MockConfig


def _contract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", metavar="FILE",
                   help="a CloudTower OpenAPI document to speak instead of the installed SDK's contract")


def version_text() -> str:
    """cloudtower-mock's version, and the SDK (so the CloudTower API) it speaks by default."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        own = version("cloudtower-mock")
    except PackageNotFoundError:
        own = "unknown (not installed)"
    try:
        sdk = f"cloudtower-sdk {version('cloudtower-sdk')}"
    except PackageNotFoundError:
        sdk = "no cloudtower-sdk installed"
    return f"cloudtower-mock {own} ({sdk}; Python {sys.version.split()[0]})"


class OneLineParser(argparse.ArgumentParser):
    """Errors are one line on stderr (what is wrong, and where to look), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind, minimum=None, maximum=None, what="a number"):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value != value or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"within {minimum} .. {maximum}"
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {bounds})")
        return value
    return parse


def _size(text: str) -> int:
    from .limits import parse_size
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


PORT = _number(int, 0, 65535, "a port number")
SPEED = _number(float, 0.0, None, "a number (2 = twice as fast, 0 = instant)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="cloudtower-mock", description=__doc__)
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the mock server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=PORT, default=8080, help="0 = any free port")
    _contract_args(serve)
    serve.add_argument("--world", default="default", metavar="NAME|FILE",
                       help="scenario to generate: default, large, xl, or a scenario file")
    serve.add_argument("--seed", type=_number(int, what="an integer"), default=None,
                       help="seed overriding the scenario's")
    serve.add_argument("--task-speed", type=SPEED, default=1.0,
                       help="how fast tasks run (2 = twice as fast); 0 = instant")
    serve.add_argument("--username", default="root")
    serve.add_argument("--password", default="root")
    serve.add_argument("--source", default="LOCAL")
    serve.add_argument("--threads", type=_number(int, 1, 1024, "an integer"), default=16)
    serve.add_argument("--admin-token", default=None, help="protect /_mock/ with this token")
    serve.add_argument("--vnc-port", type=PORT, default=None, metavar="PORT",
                       help="also serve VM consoles as plain RFB over TCP here (desktop VNC viewers)")
    serve.add_argument("--state-file", default=None, help="keep the world across restarts in this file")
    serve.add_argument("--lenient", action="store_true",
                       help="accept unknown keys in closed schemas (strict by default)")
    serve.add_argument("--stop-grace", type=_number(float, 0.0, 600.0), default=0.5, metavar="SECONDS",
                       help="on SIGTERM/SIGINT, how long requests in flight may finish before they are cut")
    serve.add_argument("--tls", action="store_true",
                       help="serve HTTPS with a certificate made at start (its CA file's path is printed)")
    serve.add_argument("--cert", metavar="FILE", help="serve HTTPS with this certificate (PEM; with --key)")
    serve.add_argument("--key", metavar="FILE", help="the private key of --cert (PEM)")
    serve.add_argument("-q", "--quiet", action="store_true",
                       help="no access log (by default one line per request on stderr)")
    serve.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="access log lines as text (default) or JSON objects")
    _limit_args(serve)
    serve.add_argument("-v", "--verbose", action="store_true")

    contract = sub.add_parser("contract", help="the contract the server runs")
    csub = contract.add_subparsers(dest="contract_command", required=True)
    export = csub.add_parser("export", help="print the OpenAPI document")
    _contract_args(export)
    export.add_argument("-o", "--output", metavar="FILE")
    info = csub.add_parser("info", help="summarise the contract")
    _contract_args(info)
    _record_compat_parsers(sub)
    return parser


def _limit_args(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--max-body", type=_size, default=MockConfig.max_body, metavar="SIZE",
                       help="largest JSON request body (413 above); e.g. 8MiB")
    serve.add_argument("--max-upload", type=_size, default=MockConfig.max_upload, metavar="SIZE",
                       help="largest multipart (upload) request body, also admin and GraphQL bodies; e.g. 64MiB")
    serve.add_argument("--max-depth", type=_number(int, 1, 500, "an integer"), default=MockConfig.max_depth,
                       metavar="LEVELS", help="deepest nesting of a JSON request body (400 above)")
    serve.add_argument("--max-namespaces", type=_number(int, 1, 100_000, "an integer"),
                       default=MockConfig.max_namespaces, metavar="N",
                       help="worlds alive at once (one per X-Mock-Namespace); 400 past it")
    serve.add_argument("--journal-max", type=_size, default=MockConfig.journal_max, metavar="SIZE",
                       help="bytes of requests the journal keeps (oldest dropped first); e.g. 64MiB")


def _record_compat_parsers(sub) -> None:
    record = sub.add_parser("record", help="crawl a real CloudTower (read-only) into a world file")
    record.add_argument("--base-url", required=True, help="the CloudTower, e.g. https://tower.example")
    record.add_argument("--username", required=True)
    record.add_argument("--password", required=True)
    record.add_argument("--source", default="LOCAL", help="user source (LOCAL, LDAP, AUTHN)")
    record.add_argument("--budget", type=int, default=2000, help="at most this many requests")
    record.add_argument("--page-size", type=int, default=200)
    _contract_args(record)
    record.add_argument("-o", "--output", required=True, metavar="FILE")
    compat = sub.add_parser("compat", help="what a client uses that an older CloudTower lacks")
    compat.add_argument("--old", required=True, metavar="SPEC_OR_SDK")
    compat.add_argument("--new", required=True, metavar="SPEC_OR_SDK")
    compat.add_argument("--journal", metavar="FILE", help="JSON of GET /_mock/journal?full=1")
    compat.add_argument("--json", action="store_true", help="machine-readable output")


def record_command(args) -> int:
    from .contract.loader import ContractError, load_contract
    from .record import RecordError, crawl, write_recording
    try:
        contract = load_contract(args.spec)
        doc = crawl(contract, args.base_url, args.username, args.password, args.source,
                    budget=args.budget, page_size=args.page_size)
        write_recording(doc, args.output)
    except (ContractError, RecordError) as e:
        return _fail(str(e))
    n = sum(len(v) for v in doc["resources"].values())
    print(f"recorded {n} records of {len(doc['resources'])} resource types in {doc['requests']} requests"
          f"{'' if doc['complete'] else ' (incomplete)'} -> {args.output}", file=sys.stderr)
    return 0


def compat_command(args) -> int:
    from .compat import CompatError, run
    try:
        out, status = run(args.old, args.new, args.journal, args.json)
    except CompatError as e:
        return _fail(str(e))
    print(out)
    return status


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"serve": serve, "contract": contract_command, "record": record_command,
                "compat": compat_command}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:              # Ctrl-C before serving started
        return 130
    except Exception as e:                 # noqa: BLE001 - a last net: one line, never a traceback
        if getattr(args, "verbose", False):
            raise
        return _fail(f"{type(e).__name__}: {e} (run with -v for the details)")


def _fail(message: str) -> int:
    print(f"cloudtower-mock: error: {message}", file=sys.stderr)
    return 2


def contract_command(args) -> int:
    from .contract.loader import ContractError, load_contract
    try:
        contract = load_contract(args.spec)
    except ContractError as e:
        return _fail(str(e))
    if args.contract_command == "export":
        text = json.dumps(contract.doc, indent=1, sort_keys=False)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        else:
            sys.stdout.write(text + "\n")
        return 0
    fams = contract.families()
    print(f"CloudTower {contract.version} ({contract.source})")
    print(f"{len(contract.operations)} operations: " + ", ".join(f"{k} {v}" for k, v in sorted(fams.items())))
    print(f"{len(contract.resources)} resource types")
    return 0


def serve(args) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from .contract.loader import ContractError, load_contract

    config = MockConfig(host=args.host, port=args.port, spec=args.spec, world=args.world, seed=args.seed,
                        username=args.username, password=args.password, source=args.source,
                        task_speed=args.task_speed, strict=not args.lenient, admin_token=args.admin_token,
                        threads=args.threads, state_file=args.state_file, max_body=args.max_body,
                        max_upload=args.max_upload, max_depth=args.max_depth, journal_max=args.journal_max,
                        max_namespaces=args.max_namespaces)
    tls = _tls(args)                   # flag errors first, before the slow part
    if isinstance(tls, int):
        return tls
    from .memory import tune_malloc
    tune_malloc()                      # before the world is built (see memory.py)
    t0 = time.perf_counter()
    try:
        contract = load_contract(config.spec)
    except ContractError as e:
        return _fail(str(e))
    t1 = time.perf_counter()
    saved = _read_state_file(contract, config.state_file)
    if isinstance(saved, int):
        return saved
    from .app import create_app
    from .store import Store
    from .world.loader import WorldError, load_world
    if saved is not None:
        store, origin = Store(contract), f"state file {config.state_file}"   # the world comes from it
    else:
        try:
            store, origin = load_world(contract, config.world, config.seed)
        except WorldError as e:
            return _fail(str(e))
    t2 = time.perf_counter()
    app = create_app(config, contract=contract, world_factory=lambda: store)
    if not args.quiet:
        from .access_log import AccessLog
        app.wsgi_app = AccessLog(app.wsgi_app, args.log_format)
    state = app.config["MOCK_STATE"]
    state.world()                      # build the default world now, not on the first request
    import gc
    gc.collect()
    gc.freeze()                        # the loaded world is long-lived: keep it out of GC passes
    from . import gcpolicy
    gcpolicy.install()                 # and what outlives a full pass later, too (see the module)
    state_file = _attach_state_file(state, config.state_file, saved)
    if isinstance(state_file, int):
        return state_file
    if saved is not None:
        store = state.world().store

    from .server import Server, ServerError, limit_malloc_arenas
    limit_malloc_arenas()              # before the worker threads: keeps a long run's memory flat
    try:
        server = Server(app, config.host, config.port, config.threads, grace=args.stop_grace,
                        ssl_adapter=tls.adapter() if tls else None)
        server.bind()
    except Exception as e:             # ServerError, TLSError (a certificate or key that cannot be used)
        from .tls import TLSError
        if not isinstance(e, (ServerError, TLSError)):
            raise
        if tls is not None:
            tls.cleanup()
        return _fail(str(e))
    counts = sum(len(t.rows) for t in store.tables.values())
    from .warmup import warm_in_background
    warm_in_background(state.world().store)   # the relation indexes a big world left to first use
    print(f"cloudtower-mock listening on {server.api_url}", flush=True)
    print(f"  API: CloudTower {contract.version} ({contract.source}); "
          f"{len(contract.operations)} operations; contract at GET /v2/api/openapi.json", flush=True)
    print(f"  world: {origin}, {counts} records; contract {t1 - t0:.2f}s, world {t2 - t1:.2f}s", flush=True)
    print(f"  login: POST /v2/api/login {{\"username\": \"{config.username}\", "
          f"\"password\": \"{config.password}\", \"source\": \"{config.source}\"}}", flush=True)
    if tls is not None:
        print(f"  TLS: {'certificate made at start; trust its CA file ' + tls.ca if tls.ca else 'certificate ' + tls.cert}"
              + (f" (SDK: configuration.ssl_ca_cert; curl --cacert {tls.ca})" if tls.ca else ""), flush=True)
    vnc = _vnc_listener(state, config.host, args.vnc_port)
    if isinstance(vnc, int):
        server.stop()
        return vnc
    try:
        server.run_until_signal()          # SIGTERM / SIGINT: a bounded, clean stop
    finally:
        if vnc is not None:
            vnc.stop()
        server.stop()
        if tls is not None:
            tls.cleanup()
        if state_file is not None:
            state_file.stop()              # the last write, after no answer can leave any more
    logging.getLogger("cloudtower_mock").info("stopped in %.2f s", server.stop_seconds or 0.0)
    return 0


def _vnc_listener(state, host: str, port: int | None):
    """The --vnc-port listener, started (None without the flag), or an exit status."""
    if port is None:
        return None
    from .vnc.tcp import VncListener
    try:
        vnc = VncListener(state, host, port).start()
    except OSError as e:
        return _fail(f"cannot listen on {host}:{port} for VNC: {e.strerror or e}")
    print(f"  VNC: consoles as plain RFB on {host}:{vnc.port} (type a console token or a VM name)", flush=True)
    return vnc


def _tls(args):
    """TLSFiles for --tls / --cert --key, None without, or an exit status."""
    if not (args.tls or args.cert or args.key):
        return None
    from .tls import TLSError, given_certificate, make_certificate
    if bool(args.cert) != bool(args.key):
        return _fail("--cert and --key go together (or give --tls alone for a certificate made at start)")
    try:
        if args.cert:
            return given_certificate(args.cert, args.key)
        return make_certificate(args.host)
    except TLSError as e:
        return _fail(str(e))


def _read_state_file(contract, path):
    """The validated state document, None without one, or an exit status when it is unusable."""
    if not path:
        return None
    from .persistence import StateError, read_state_file
    try:
        return read_state_file(contract, path)
    except StateError as e:
        return _fail(f"{e}; the server does not start (fix or remove the file)")


def _attach_state_file(state, path, saved):
    if not path:
        return None
    from .persistence import StateError, StateFile, import_state
    sf = StateFile(state, path)
    if saved is not None:
        try:
            import_state(state, saved, f"state file {path}")
        except StateError as e:
            return _fail(f"{e}; the server does not start (fix or remove the file)")
    try:
        sf.save(force=saved is None)
    except OSError as e:
        return _fail(f"cannot write the state file {path}: {e.strerror or e}")
    sf.start()
    return sf


def entry() -> None:
    """The console script (and `python -m mock_server.cli`): main(), then a fast exit. Once
    `serve` has stopped and written its state file there is nothing left to tear down, and
    taking a large heap apart object by object costs a stopping server a noticeable part of
    its time budget (0.1-0.3 s, more on a busy machine)."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    entry()

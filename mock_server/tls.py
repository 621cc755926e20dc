"""TLS for `serve --tls`: a certificate made at start (by a throw-away CA, with `trustme`) or
the given `--cert FILE --key FILE`, served with cheroot's built-in SSL adapter.

The made certificate is valid for localhost, 127.0.0.1, ::1, the machine's host name and the
`--host` given; its CA certificate is written to a file whose path is printed, so a client can
trust it (`Configuration.ssl_ca_cert` in the SDK, `REQUESTS_CA_BUNDLE`, `curl --cacert`).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass


class TLSError(Exception):
    """TLS cannot be set up; the message is one line."""


@dataclass
class TLSFiles:
    cert: str                        # the server's certificate chain (PEM)
    key: str                         # its private key (PEM)
    ca: str | None = None            # the CA certificate to trust (made certificates only)
    tmpdir: str | None = None        # removed by cleanup()

    def adapter(self):
        from cheroot.ssl.builtin import BuiltinSSLAdapter
        try:
            return BuiltinSSLAdapter(self.cert, self.key)
        except (OSError, ValueError) as e:
            raise TLSError(f"cannot use the certificate {self.cert} with the key {self.key}: {e}") from None

    def cleanup(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def identities(host: str | None) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    try:
        names.append(socket.gethostname())
    except OSError:
        pass
    if host and host not in ("0.0.0.0", "::", ""):
        names.append(host)
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return out


def make_certificate(host: str | None = None, directory: str | None = None) -> TLSFiles:
    """A CA made now and a server certificate it signed, written as PEM files."""
    try:
        import trustme
    except ImportError:
        raise TLSError("serve --tls needs the 'trustme' package (pip install trustme), "
                       "or give --cert FILE --key FILE") from None
    tmpdir = None
    if directory is None:
        directory = tmpdir = tempfile.mkdtemp(prefix="cloudtower-mock-tls-")
    os.makedirs(directory, exist_ok=True)
    ca = trustme.CA(organization_name="cloudtower-mock", organization_unit_name="throw-away test CA")
    names = [n for n in identities(host) if _valid_identity(n)]
    try:
        leaf = ca.issue_cert(*names, common_name=names[0])
    except ValueError:                  # a host name that is no valid DNS name: the loopback ones
        leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", common_name="localhost")
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")}
    ca.cert_pem.write_to_path(paths["ca.pem"])
    leaf.private_key_pem.write_to_path(paths["server.key"])
    with open(paths["server.pem"], "wb") as f:
        for blob in leaf.cert_chain_pems:
            f.write(blob.bytes())
    os.chmod(paths["server.key"], 0o600)
    return TLSFiles(cert=paths["server.pem"], key=paths["server.key"], ca=paths["ca.pem"], tmpdir=tmpdir)


def given_certificate(cert: str, key: str) -> TLSFiles:
    for what, path in (("--cert", cert), ("--key", key)):
        if not os.path.isfile(path):
            raise TLSError(f"{what} {path}: no such file")
    return TLSFiles(cert=cert, key=key)


def _valid_identity(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return all(part and len(part) < 64 for part in name.split(".")) and len(name) < 254

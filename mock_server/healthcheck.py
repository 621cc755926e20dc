"""`python -m mock_server.healthcheck`: exit 0 when the mock on this machine answers a login.

The container's HEALTHCHECK. It logs in (POST /v2/api/login) as CLOUDTOWER_MOCK_USERNAME /
CLOUDTOWER_MOCK_PASSWORD (root/root by default) on 127.0.0.1:$CLOUDTOWER_MOCK_PORT (8080),
over HTTP, or over HTTPS without verifying the certificate when the server speaks TLS.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def check(port: int, username: str, password: str, timeout: float = 3.0) -> str | None:
    """None when a login succeeds; otherwise why not."""
    body = json.dumps({"username": username, "password": password}).encode()
    last = "no answer"
    for scheme in ("http", "https"):
        req = urllib.request.Request(f"{scheme}://127.0.0.1:{port}/v2/api/login", data=body,
                                     headers={"Content-Type": "application/json"})
        ctx = ssl._create_unverified_context() if scheme == "https" else None
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                token = json.loads(r.read()).get("data", {}).get("token")
                return None if token else f"{scheme}: login answered without a token"
        except urllib.error.HTTPError as e:
            return f"{scheme}: login answered {e.code}"
        except (OSError, ValueError) as e:
            last = f"{scheme}: {e}"
    return last


def main() -> int:
    env = os.environ
    try:
        port = int(env.get("CLOUDTOWER_MOCK_PORT", "8080"))
    except ValueError:
        print("healthcheck: CLOUDTOWER_MOCK_PORT must be a port number", file=sys.stderr)
        return 2
    problem = check(port, env.get("CLOUDTOWER_MOCK_USERNAME", "root"), env.get("CLOUDTOWER_MOCK_PASSWORD", "root"))
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

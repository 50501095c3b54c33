"""HTTP to an agent bank and what a failure means: nothing delivered (:class:`BankUnavailable`, safe to retry) or
an unknown outcome (:class:`OutcomeUnknown`). Nothing here touches the database."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from ..models import BankEndpoint


class BankUnavailable(Exception):
    """Nothing was delivered (connection refused, HTTP 503): safe to retry with the same message."""


class OutcomeUnknown(Exception):
    """The request may or may not have reached the bank (timeout, connection lost)."""


def _http(method: str, url: str, *, data: bytes | None = None, headers: dict | None = None,
          timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - bank URL
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured bank URL
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp else b""
        if exc.code == 503:
            raise BankUnavailable(f"HTTP 503 {body[:200]!r}") from None
        return exc.code, body
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            raise BankUnavailable(f"connection refused: {url}") from None
        if isinstance(reason, TimeoutError | socket.timeout):
            raise OutcomeUnknown(f"timeout after {timeout}s") from None
        raise OutcomeUnknown(f"network error: {reason}") from None
    except ConnectionRefusedError:
        raise BankUnavailable(f"connection refused: {url}") from None
    except TimeoutError:
        raise OutcomeUnknown(f"timeout after {timeout}s") from None
    except (ConnectionError, OSError) as exc:  # reset / broken pipe / remote closed mid-answer
        raise OutcomeUnknown(f"connection lost: {exc.__class__.__name__}") from None


def _json(method: str, url: str, payload: dict | None = None, *, token: str = "", timeout: float = 10.0) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Admin-Token"] = token
    status, body = _http(method, url, data=json.dumps(payload).encode() if payload is not None else None,
                         headers=headers, timeout=timeout)
    if status != 200:
        raise OutcomeUnknown(f"HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def _url(ep: BankEndpoint, path: str) -> str:
    return ep.base_url.rstrip("/") + path


def _trusted(ep: BankEndpoint) -> dict[str, str]:
    return {ep.bank_fingerprint: ep.bank_public_pem} if ep.bank_fingerprint else {}

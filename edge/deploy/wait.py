"""Wait until a device's live web view (`tfedge run --serve`) reports a model's sha256, or its
events say that the run refused that model."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from tfedge.errors import RemoteError, UsageError


def status_url(url: str) -> str:
    """The /api/status address of the web view at `url` (http://HOST:PORT[/...])."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--wait {url!r} is not the web view's address (http://HOST:PORT)")
    path = parts.path.rstrip("/") + "/api/status"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class ModelRefused(RemoteError):
    """The device's `tfedge run` refused the deployed model (a `model_rejected` event)."""


def _get(url: str, token: str | None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def refusals(url: str, sha256: str | None, token: str | None = None) -> list[dict]:
    """The `model_rejected` events (for `sha256`; None: for any model) that the web view at `url`
    lists ([] when it cannot say)."""
    address = status_url(url).removesuffix("/status") + "/events"
    try:
        events = _get(address, token).get("events") or []
    except (OSError, ValueError):
        return []
    return [e for e in events if e.get("type") == "model_rejected" and sha256 in (None, e.get("sha256"))]


def wait_for_model(url: str, sha256: str, token: str | None = None, timeout_s: float = 60.0,
                   interval_s: float = 0.05, earlier_refusals: list[dict] = ()) -> float:
    """Seconds until `/api/status` reports `sha256` (its short form) as the running model.

    Raises ModelRefused when a `model_rejected` event for it appears (other than
    `earlier_refusals`), RemoteError when nothing says so within `timeout_s`.
    """
    address = status_url(url)
    started = time.perf_counter()
    seen, problem = None, None
    while time.perf_counter() - started < timeout_s:
        try:
            seen = _get(address, token).get("model_sha")
            problem = None
        except urllib.error.HTTPError as error:
            if error.code == 401:
                raise RemoteError(f"{address} refused the token; give the device's --token (or set "
                                  "TFEDGE_TOKEN)") from None
            problem = f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            problem = str(getattr(error, "reason", error))
        if seen and sha256.startswith(seen):
            return time.perf_counter() - started
        new = [e for e in refusals(url, sha256, token) if e not in earlier_refusals]
        if new:
            raise ModelRefused(f"the device's tfedge run refused it: {new[0].get('reason')}")
        time.sleep(interval_s)
    now = f"it reports {seen}" if seen else f"it did not answer ({problem})" if problem else "no model"
    raise RemoteError(f"the model was installed, but {address} did not report {sha256[:12]} within "
                      f"{timeout_s:g} s ({now}); is tfedge run watching that path?")

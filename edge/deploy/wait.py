"""Wait until a device's live web view (`tfedge run --serve`) reports a model's sha256."""

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


def wait_for_model(url: str, sha256: str, token: str | None = None, timeout_s: float = 60.0,
                   interval_s: float = 0.05) -> float:
    """Seconds until `/api/status` reports `sha256` (its short form) as the running model.

    Raises RemoteError when it does not within `timeout_s`, saying what it reports instead.
    """
    address = status_url(url)
    request = urllib.request.Request(address, headers={"Authorization": f"Bearer {token}"} if token else {})
    started = time.perf_counter()
    seen, problem = None, None
    while time.perf_counter() - started < timeout_s:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                seen = json.loads(answer.read()).get("model_sha")
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
        time.sleep(interval_s)
    now = f"it reports {seen}" if seen else f"it did not answer ({problem})" if problem else "no model"
    raise RemoteError(f"the model was installed, but {address} did not report {sha256[:12]} within "
                      f"{timeout_s:g} s ({now}); is tfedge run watching that path?")

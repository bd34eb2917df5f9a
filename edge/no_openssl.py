"""`tfedge run` without OpenSSL unless it speaks TLS.

Python modules that use OpenSSL only for TLS still load it when they are imported:
`http.server` (the web viewer) through `http.client`'s optional `import ssl`, `hmac` through
`_hashlib`, paho-mqtt through `ssl`, `hashlib` and `urllib.request`. libssl and libcrypto cost
the device 4.5 MB of RSS (measured after numpy, cv2 and LiteRT; benchmarks/edge_pipeline.py's
`--serve --mqtt` column), about 3% of `tfedge run`. The web viewer speaks plain HTTP and MQTT
is plain unless the URL is mqtts://, so those imports happen inside `openssl_hidden()`: the
modules come up as on a Python built without OpenSSL (which they support: `ssl` is None in
them, `hashlib` uses CPython's built-in digests). Only modules not imported yet are affected.

What a module imported this way lacks for the rest of the process: `http.client.HTTPSConnection`
(and so `urllib.request`'s https), and TLS in paho-mqtt, which `paho_client(tls=True)` restores.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

# the modules through which OpenSSL is loaded: TLS (libssl) and hashlib's digests (libcrypto)
OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")


@contextlib.contextmanager
def openssl_hidden():
    """Imports inside see OpenSSL's modules as missing (only those not loaded yet)."""
    hidden = [name for name in OPENSSL_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` now raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def openssl_loaded() -> list[str]:
    """OpenSSL's modules this process has loaded."""
    return [name for name in OPENSSL_MODULES if sys.modules.get(name) is not None]


def paho_client(tls: bool):
    """paho.mqtt.client, imported without OpenSSL for plain MQTT; with its TLS for mqtts (imported
    again when a plain connection in this process imported it without)."""
    if tls:
        import paho.mqtt.client as paho

        if getattr(paho, "ssl", None) is None:
            import ssl  # noqa: F401 - loaded first, so that paho finds it

            paho = importlib.reload(paho)
        return paho
    with openssl_hidden():
        import paho.mqtt.client as paho
    return paho


def equal_secrets(given: str, expected: str) -> bool:
    """`hmac.compare_digest` on the UTF-8 bytes (constant time), without importing hmac:
    CPython's own implementation, which hmac itself uses where OpenSSL is missing."""
    try:
        from _operator import _compare_digest
    except ImportError:  # another Python: hmac's
        from hmac import compare_digest as _compare_digest
    return _compare_digest(given.encode(), expected.encode())

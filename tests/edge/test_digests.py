import hashlib
import subprocess
import sys

from tfedge.edge.digests import sha256_hex, shake_256


def test_digests_are_hashlibs():
    for data in (b"", b"tfedge", bytes(range(256)) * 4099):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
        assert shake_256(data, 1000) == hashlib.shake_256(data).digest(1000)


def test_the_run_path_does_not_load_openssl():
    """hashlib loads OpenSSL's libcrypto (3.3 MB of RSS); the live run's modules do without it."""
    code = ("import sys, tfedge.edge.live.hot_swap, tfedge.edge.live.pipeline, tfedge.edge.live.capture, "
            "tfedge.edge.sinks.jsonlines; print(sorted(k for k in ('hashlib', '_hashlib', 'ssl') "
            "if k in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"

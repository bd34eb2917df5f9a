"""tfedge.edge.no_openssl: imports without OpenSSL, and the token comparison that needs none."""

from __future__ import annotations

import json
import subprocess
import sys

from tfedge.edge.no_openssl import equal_secrets, openssl_hidden


def test_modules_imported_inside_come_up_without_tls_and_the_rest_of_the_process_keeps_it():
    script = ("import json, sys\n"
              "from tfedge.edge.no_openssl import openssl_hidden, openssl_loaded\n"
              "assert not openssl_loaded() and 'hashlib' not in sys.modules\n"
              "with openssl_hidden():\n"
              "    import http.client, hashlib\n"
              "inside = [hasattr(http.client, 'HTTPSConnection'), openssl_loaded(),\n"
              "          hashlib.sha256(b'x').hexdigest()[:8]]\n"
              "import ssl\n"
              "print(json.dumps([inside, openssl_loaded(), ssl.OPENSSL_VERSION[:7]]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    inside, after, version = json.loads(done.stdout)
    assert inside == [False, [], "2d711642"]  # hashlib on CPython's own SHA-256
    assert after == ["ssl", "_ssl"] and version == "OpenSSL"  # hidden only while importing


def test_modules_already_loaded_are_left_alone():
    import ssl

    with openssl_hidden():
        assert sys.modules["ssl"] is ssl
    assert sys.modules["ssl"] is ssl


def test_equal_secrets():
    assert equal_secrets("s3cret", "s3cret")
    assert equal_secrets("gâteau", "gâteau")
    assert not equal_secrets("s3cret", "s3cres")
    assert not equal_secrets("", "s3cret")
    assert not equal_secrets("s3cret-and-more", "s3cret")

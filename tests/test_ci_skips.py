"""Under CI a skipped real-component test is an error; a legitimate skip stays a skip."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = '''
import pytest

@pytest.mark.real_component("chromium")
@pytest.mark.skipif(True, reason="Chromium is not installed")
def test_marked_and_skipped_before_it_runs():
    pass

@pytest.mark.real_component("openssl")
def test_marked_and_skipped_while_it_runs():
    pytest.skip("openssl is not installed")

def test_uses_the_data_set(fashion_dir):
    pass

def test_hardware_that_cannot_be_here():
    pytest.skip("no Edge TPU attached")

@pytest.mark.real_component("mosquitto")
def test_marked_and_run():
    pass
'''


@pytest.fixture
def suite(pytester, monkeypatch):
    pytester.makeconftest(Path(__file__).with_name("conftest.py").read_text()
                          + "\n\n@pytest.fixture(scope='session')\ndef fashion_dir():\n"
                          "    pytest.skip('dataset-fashion-mnist is not installed')\n")
    pytester.makeini("[pytest]\nmarkers =\n    real_component: needs a real program\n")
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.delenv("CI", raising=False)
    return pytester


@pytest.mark.parametrize("ci", [None, "false", "0"])
def test_without_ci_they_all_skip_with_their_reason(suite, monkeypatch, ci):
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    result = suite.runpytest_inprocess("-rs")
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["*Chromium is not installed*"])


def test_under_ci_a_skipped_real_component_test_fails(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest_inprocess("-rs")
    # skipped in set-up is reported as an error, skipped in the test's body as a failure
    result.assert_outcomes(passed=1, skipped=1, errors=2, failed=1)
    result.stdout.fnmatch_lines(["*CI must run this test, which needs chromium*Chromium is not installed*",
                                 "*needs dataset-fashion-mnist*", "*needs openssl*",
                                 "SKIPPED*no Edge TPU attached*"], consecutive=False)
    assert result.ret != 0

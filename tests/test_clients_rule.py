"""The rule of tests/clients.py: a missing real client skips locally, fails under CI=true,
and every skip in the suite goes through it (so no client test can quietly not run)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import clients
from clients import in_ci, missing, require

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    """Points the helper at a Chromium path that does not exist."""
    monkeypatch.setattr(clients, "CHROMIUM", str(tmp_path / "no-chromium"))


def test_missing_client_skips_locally(no_chromium):
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require("chromium", env={})


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_missing_client_fails_under_ci(no_chromium, value):
    with pytest.raises(pytest.fail.Exception, match="CI=true and a real client is missing"):
        require("chromium", env={"CI": value})


def test_ci_flag_values():
    assert in_ci({"CI": "true"}) and not in_ci({}) and not in_ci({"CI": "false"})


def test_present_client_passes_even_under_ci(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("")
    monkeypatch.setattr(clients, "CHROMIUM", str(fake))
    assert require("chromium", env={"CI": "true"}) is None
    assert missing("chromium") == []


def test_every_missing_client_is_named(no_chromium, monkeypatch, tmp_path):
    monkeypatch.setattr(clients, "REALDATA", tmp_path / "absent")
    reasons = missing("chromium", "realdata")
    assert len(reasons) == 2 and "absent" in reasons[1]


def test_unknown_client_is_an_error():
    with pytest.raises(ValueError, match="unknown client"):
        require("netscape")


def test_no_test_skips_around_the_helper():
    """Only tests/clients.py may skip: any other skip would pass in CI without running."""
    pattern = re.compile(r"pytest\.skip\(|mark\.skipif|importorskip|mark\.skip\b")
    allowed = {"clients.py", Path(__file__).name}
    found = [f"{p.name}:{n}" for p in sorted(TESTS.glob("*.py")) if p.name not in allowed
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, f"skip outside tests/clients.py require(): {found}"

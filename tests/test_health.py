"""Does an env's Python answer a request (as uv would reuse it)?"""

from __future__ import annotations

import sys

from anyvenv.interpreter.request import parse_request
from anyvenv.project.health import EnvFacts, satisfies

FACTS = EnvFacts(
    base_executable=sys.executable,
    version=(3, 12, 1),
    free_threaded=False,
    site_packages="lib/python3.12/site-packages",
    made_by_anyvenv=True,
    fingerprint={},
)


def test_versions_and_ranges() -> None:
    assert satisfies(parse_request("3.12"), FACTS)
    assert satisfies(parse_request(">=3.10,<3.13"), FACTS)
    assert not satisfies(parse_request("3.11"), FACTS)
    assert not satisfies(parse_request("3.12t"), FACTS)
    assert satisfies(parse_request(None), FACTS)


def test_paths_compare_the_base_interpreter() -> None:
    assert satisfies(parse_request(sys.executable), FACTS)
    assert not satisfies(parse_request("/usr/bin/python3-not-there"), FACTS)


def test_versioned_names_fall_back_to_the_version() -> None:
    assert satisfies(parse_request("python3.12"), FACTS)
    assert not satisfies(parse_request("python3.11"), FACTS)

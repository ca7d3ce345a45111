"""Shared fixtures of the byteshelf Python suite.

The reference packages (roxxel 0.9.14, mapbuffer 1.2.0, roboto 0.62.0, buffer 0.2.1) are imported where a test
compares against them. Without them those tests are skipped, unless BYTESHELF_REQUIRE_REFERENCES=1 (set by
`cargo xtask ci`), where a missing reference is an error.
"""

import contextlib
import importlib
import io
import os

import pytest
from hypothesis import HealthCheck, settings

# No example database: nothing is written into the source tree, and every run is independent.
settings.register_profile(
    "ci",
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    database=None,
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("BYTESHELF_HYPOTHESIS", "ci"))


def reference(module):
    """Imports a reference module, or skips (fails under BYTESHELF_REQUIRE_REFERENCES=1)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(module)
    except Exception as err:  # noqa: BLE001 - jax & co. may fail in many ways
        if os.environ.get("BYTESHELF_REQUIRE_REFERENCES") == "1":
            raise
        pytest.skip(f"reference {module} not importable: {err}")


@contextlib.contextmanager
def quiet():
    """roxxel prints progress lines; keep them out of the test output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield

"""``chrome``: a headless Chromium (tools/chrome.py) for the tests that measure pages at phone width.

CI installs Chromium from the OS packages and sets ETL_REQUIRE_BROWSER=1 (.ci/run): there a
missing browser fails the test instead of skipping it."""
from __future__ import annotations

import os

import pytest

from tools.chrome import Chrome, find_chromium


@pytest.fixture(scope="module")
def chrome():
    if find_chromium() is None:
        if os.environ.get("ETL_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (ETL_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    with Chrome() as browser:
        yield browser

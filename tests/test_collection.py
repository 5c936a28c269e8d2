"""The test folders are packages under ``tests``: a test folder named like a real package (tests/annotate) must
not shadow it, whatever other test files pytest collects first (tests/crawl imports the real ``annotate``
through the CLI before tests/annotate/test_cli.py is collected)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_test_folder_named_like_a_package_collects_after_that_package_is_imported():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/crawl/test_crawl_config.py", "tests/annotate/test_cli.py"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "tests/annotate/test_cli.py::" in proc.stdout

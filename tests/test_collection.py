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


def test_the_command_line_imports_no_stage_machinery():
    """`toolbench --help` builds every command's options from light config modules (crawl, generate calls, eval
    ast): importing the CLI loads neither the executor, httpx nor the crawl's runner."""
    code = ("import sys, toolbench.cli; heavy = [m for m in ('httpx', 'toolbench.executor', 'toolbench.crawl.crawler',"
            " 'toolbench.generate.calls', 'torch') if m in sys.modules]; print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"

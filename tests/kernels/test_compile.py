"""The compiled (non-interpreted) kernels build for a real GPU target: an ahead-of-time compile for sm_90 in a
subprocess (``TRITON_INTERPRET=0`` must hold before the kernel modules are imported), no GPU needed.

Catches what the interpreter cannot: compiled-mode front-end errors, unsupported ops, dot shape constraints.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parents[2]


def test_kernels_compile_for_sm90():
    env = dict(os.environ, TRITON_INTERPRET="0")
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "kernels_compile.py"), "--arch", "90", "--quick"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAILED" not in r.stdout
    assert r.stdout.count("sm_90") >= 5

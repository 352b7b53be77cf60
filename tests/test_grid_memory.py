"""update_grid's memory does not grow with rows * out: a paper-width layer refit on many rows.

The refit used to hold the current spline of every edge on every row, ``rows * in * out``
floats, and a float64 copy: for the paper's channel-mixing layer, ``KANLinear(256, 256)``, on
the 4,096 rows of 64 images that is 1.07 GB of float32 and 2.1 GB of float64 (its peak rose by
5.5 GB), and on the 65,536 rows of a grid update's 1,024 images, 17 + 34 GB.

The update runs in a fresh process that resets its peak resident memory (Linux's ``VmHWM``)
just before and reports how far the peak rose above the resident memory of that moment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROWS, WIDTH = 4096, 256
OLD_SPLINE = ROWS * WIDTH * WIDTH * 4  # bytes of the float32 spline values the refit used to hold
BOUND = OLD_SPLINE // 4  # 268 MB; the refit's row blocks and the quantiles' sort take 70-100 MB

CHILD = f"""
import torch
from kanmix.kan import KANLinear

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

torch.set_num_threads(1)  # the memory is the same; threads only contend when tests run side by side
torch.manual_seed(0)
layer = KANLinear({WIDTH}, {WIDTH})
x = torch.randn({ROWS}, {WIDTH})
layer.update_grid(x[:256])  # warm-up: lazily made buffers are not the refit's
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
except OSError:
    print("no-reset")
    raise SystemExit
resident = status("VmRSS")
layer.update_grid(x)
print(status("VmHWM") - resident)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="resets and reads Linux's peak resident memory")
def test_update_grid_peak_memory_does_not_grow_with_rows_times_out():
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr[-2000:]
    if run.stdout.split()[-1] == "no-reset":
        pytest.skip("this process may not reset its peak resident memory (/proc/self/clear_refs)")
    grew = int(run.stdout.split()[-1])
    assert grew < BOUND, f"update_grid raised peak memory by {grew / 1e6:.0f} MB (bound {BOUND / 1e6:.0f} MB)"

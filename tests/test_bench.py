"""The benchmarks run end to end on tiny inputs and report what they measured."""

import json

import pytest
import torch

from kanmix import bench
from kanmix.bench import kan as bench_kan


def test_kan_benchmark_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_kan.main(["--shapes", "64x4x3,40x6x5", "--repeats", "2", "--warmup", "1", "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [r["shape"] for r in records] == [[64, 4, 3], [40, 6, 5]]
    for r in records:
        assert r["dtype"] == "float32" and set(bench_kan.NAMES) <= set(r)
        for name in ("kanmix", "reference", "limit", "linear"):
            assert r[name] > 0, (name, r)
        installed = [n for n in ("flashkan", "inkan") if bench_kan._peer(n, 1, 1) is not None]
        assert all(r[n] > 0 for n in installed) and all(r[n] is None for n in {"flashkan", "inkan"} - set(installed))
    table = capsys.readouterr().out
    assert "ref/kanmix" in table and "ref/limit" in table
    rows = [line for line in table.splitlines() if line.strip().startswith(("64, 4->3", "40, 6->5"))]
    assert len(rows) == 2
    # The printed ratio is the JSON's medians divided, not a separate measurement.
    ref_over_kanmix = float(rows[0].split("|")[2].split()[1])
    assert ref_over_kanmix == pytest.approx(records[0]["reference"] / records[0]["kanmix"], abs=0.051)


def test_kan_benchmark_both_dtypes_side_by_side(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_kan.main(["--shapes", "48x4x3,40x6x5", "--dtype", "both", "--repeats", "1", "--warmup", "1",
                           "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    # One record per shape and dtype, float32 first, each with the keys the book and notes read.
    assert [(r["shape"], r["dtype"]) for r in records] == [
        ([48, 4, 3], "float32"), ([48, 4, 3], "bfloat16"), ([40, 6, 5], "float32"), ([40, 6, 5], "bfloat16")]
    for r in records:
        assert {"dtype", "shape", "kanmix", "reference", "limit", "linear", "peak_bytes"} <= set(r)
        assert all(r[n] > 0 for n in ("kanmix", "reference", "limit", "linear"))
    text = capsys.readouterr().out
    rows = [line.split("|")[0].split() for line in text.splitlines() if line.strip().startswith(("48, 4->3", "40, 6->5"))]
    assert [row[-1] for row in rows[:4]] == ["float32", "bfloat16", "float32", "bfloat16"]
    # The speed-up printed per shape is float32 kanmix time over bf16 kanmix time, from the same run.
    speedup = text[text.index("speed-up over float32"):].splitlines()
    assert speedup[1].split()[:2] == ["48,", "4->3"]
    assert float(speedup[1].split()[-1].rstrip("x")) == pytest.approx(records[0]["kanmix"] / records[1]["kanmix"], abs=0.006)


def test_kan_benchmark_bf16_contenders():
    layers = bench_kan.contenders(16, 4, 3, torch.device("cpu"), "bfloat16")
    x = torch.rand(16, 4)
    # Every contender but the limit runs float32 parameters under autocast; the limit is bf16 through and through.
    assert all(layers[n](x).dtype == torch.bfloat16 for n in layers)
    assert all(p.dtype == torch.float32 for n in layers if n != "limit" for p in layers[n].parameters())
    assert all(p.dtype == torch.bfloat16 for p in layers["limit"].parameters())
    assert bench_kan.bench_shape(16, 4, 3, torch.device("cpu"), repeats=1, warmup=1)["dtype"] == "float32"


def test_kan_benchmark_rejects_bad_shapes(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_kan.main(["--shapes", "64x4"])
    assert exc.value.code == 2
    assert "--shapes must look like 8192x256x512" in capsys.readouterr().err



def test_dispatcher_names_the_benchmarks(capsys):
    assert bench.main(["nope"]) == 2
    assert "choose from kan, mixer" in capsys.readouterr().err

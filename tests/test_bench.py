"""The benchmarks run end to end on tiny inputs and report what they measured."""

import json

import pytest

from kanmix import bench
from kanmix.bench import kan as bench_kan
from kanmix.bench import mixer as bench_mixer


def test_kan_benchmark_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench_kan.main(["--shapes", "64x4x3,40x6x5", "--repeats", "2", "--warmup", "1", "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [r["shape"] for r in records] == [[64, 4, 3], [40, 6, 5]]
    for r in records:
        assert set(bench_kan.NAMES) <= set(r)
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


def test_kan_benchmark_rejects_bad_shapes(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_kan.main(["--shapes", "64x4"])
    assert exc.value.code == 2
    assert "--shapes must look like 8192x256x512" in capsys.readouterr().err


def test_mixer_benchmark_times_all_three_models(capsys):
    assert bench_mixer.main(["--device", "cpu", "--batch-size", "2", "--steps", "1", "--repeats", "1", "--warmup", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {name: line for line in lines for name in bench_mixer.CONTENDERS if line.startswith(name)}
    assert set(rows) == set(bench_mixer.CONTENDERS)
    assert rows["KAN-Mixer (reference layer)"].endswith("1.00x")
    # Same architecture, same parameter count, whichever KAN layer computes it.
    params = {name: int(line[len(name):].split()[0].replace(",", "")) for name, line in rows.items()}
    assert params["KAN-Mixer (kanmix KANLinear)"] == params["KAN-Mixer (reference layer)"] > params["MLP-Mixer"]
    assert all(float(line.split()[-2]) > 0 for line in rows.values())  # images/s


def test_dispatcher_names_the_benchmarks(capsys):
    assert bench.main(["nope"]) == 2
    assert "choose from kan, mixer" in capsys.readouterr().err

"""`python -m kanmix.bench mixer --precision`: the table says which precision each number is for."""

import pytest

from kanmix.bench import mixer as bench_mixer
from kanmix.kan import PlainKANLinear

REFERENCE = "KAN-Mixer (reference layer)"
SMALL = dict(patch=8, dim=8, depth=1, token_hidden=4, channel_hidden=8)


def _rows(kanmix: float, reference: float) -> dict:
    return {"KAN-Mixer": {"images_per_second": kanmix, "parameters": 1234},
            REFERENCE: {"images_per_second": reference, "parameters": 1234}}


def test_both_precisions_side_by_side_with_the_speedup():
    header, rule, kan, ref = bench_mixer.table({"fp32": _rows(10.0, 5.0), "bf16": _rows(40.0, 8.0)}, REFERENCE).splitlines()
    assert header.split()[2:] == ["fp32", "img/s", "vs", "reference", "bf16", "img/s", "vs", "reference", "bf16/fp32"]
    assert kan.split()[2:] == ["10.0", "2.00x", "40.0", "5.00x", "4.00x"]
    assert ref.split()[-1] == "1.60x"


def test_bf16_and_fp32_train_on_the_cpu(monkeypatch, capsys):
    # The paper-size contenders, shrunk: the point is the plumbing, not the speed.
    monkeypatch.setattr(bench_mixer, "CONTENDERS", {
        "KAN-Mixer (kanmix KANLinear)": dict(name="kan_mixer", **SMALL),
        "MLP-Mixer": dict(name="mlp_mixer", **SMALL),
        REFERENCE: dict(name="kan_mixer", layer=PlainKANLinear, **SMALL)})
    argv = ["--device", "cpu", "--precision", "both", "--batch-size", "4", "--steps", "1", "--repeats", "1"]
    assert bench_mixer.main(argv) == 0
    out = capsys.readouterr().out
    assert "fp32 img/s" in out and "bf16 img/s" in out and "bf16/fp32" in out
    row = next(line for line in out.splitlines() if line.startswith(REFERENCE))
    assert row.split()[-4] == row.split()[-2] == "1.00x"


def test_a_bad_precision_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_mixer.main(["--precision", "fp16"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "argument --precision: invalid choice: 'fp16'" in err


def test_the_three_models_share_an_architecture_and_the_reference_is_the_unit(monkeypatch, capsys):
    monkeypatch.setattr(bench_mixer, "CONTENDERS", {
        "KAN-Mixer (kanmix KANLinear)": dict(name="kan_mixer", **SMALL),
        "MLP-Mixer": dict(name="mlp_mixer", **SMALL),
        REFERENCE: dict(name="kan_mixer", layer=PlainKANLinear, **SMALL)})
    assert bench_mixer.main(["--device", "cpu", "--batch-size", "2", "--steps", "1", "--repeats", "1",
                             "--warmup", "0", "--precision", "fp32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {name: line for line in lines for name in bench_mixer.CONTENDERS if line.startswith(name)}
    assert set(rows) == set(bench_mixer.CONTENDERS)
    assert rows[REFERENCE].endswith("1.00x")
    # Same architecture, same parameter count, whichever KAN layer computes it.
    params = {name: int(line[len(name):].split()[0].replace(",", "")) for name, line in rows.items()}
    assert params["KAN-Mixer (kanmix KANLinear)"] == params[REFERENCE] > params["MLP-Mixer"]
    assert all(float(line.split()[-2]) > 0 for line in rows.values())  # images/s


def test_cpu_widths_build_the_books_mixers(monkeypatch):
    built = []
    monkeypatch.setattr(bench_mixer, "measure", lambda models, *a, **k: {
        name: {"images_per_second": 1.0, "runs": [1.0], "parameters": 1} for name in models})
    real = bench_mixer.build
    monkeypatch.setattr(bench_mixer, "build", lambda spec: built.append(spec) or real(spec))
    assert bench_mixer.main(["--device", "cpu", "--widths", "cpu", "--precision", "fp32"]) == 0
    assert all(spec["dim"] == 64 and spec["depth"] == 2 for spec in built) and len(built) == 3

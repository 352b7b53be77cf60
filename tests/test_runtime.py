"""kanmix.runtime: devices, and what precision ``auto`` means, decided the same way every time."""

import pytest
import torch

from kanmix import runtime
from kanmix.train import TrainConfig


@pytest.fixture
def probe(monkeypatch):
    """Stub the timed GEMM: ``probe(fp32_seconds, bf16_seconds)``; returns the calls it saw."""
    calls = []

    def stub(fp32: float, bf16: float) -> list:
        times = {torch.float32: fp32, torch.bfloat16: bf16}
        monkeypatch.setattr(runtime, "gemm_seconds", lambda dtype: calls.append(dtype) or times[dtype])
        runtime.cpu_bf16_is_faster.cache_clear()
        return calls

    yield stub
    runtime.cpu_bf16_is_faster.cache_clear()  # the next user measures this machine again


@pytest.mark.parametrize("fp32, bf16, expected", [
    (4.0, 1.0, "bf16"),  # a CPU with bf16 units: 4x
    (1.6, 1.0, "bf16"),  # just past the margin
    (1.4, 1.0, "fp32"),  # faster, but not clearly: noise must not flip the decision
    (1.0, 8.0, "fp32"),  # bf16 emulated in software
])
def test_auto_on_a_cpu_follows_the_probe(probe, fp32, bf16, expected):
    calls = probe(fp32, bf16)
    assert runtime.resolve_precision("auto", "cpu") == expected
    assert runtime.resolve_precision("auto", "cpu") == expected
    assert len(calls) == 2  # measured once per process (one fp32, one bf16 GEMM), then cached
    assert TrainConfig(device="cpu").precision == expected  # configs hold the resolved value


def test_auto_is_bf16_on_cuda_without_probing(probe, monkeypatch):
    calls = probe(1.0, 8.0)  # this CPU would say fp32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.resolve_precision("auto", "cuda") == "bf16"
    assert runtime.resolve_precision("auto", None) == "bf16"  # the default device is then CUDA
    assert calls == []


def test_explicit_precisions_are_kept_and_bad_ones_named(probe):
    calls = probe(4.0, 1.0)
    assert [runtime.resolve_precision(p, "cpu") for p in ("fp32", "bf16")] == ["fp32", "bf16"]
    assert calls == []
    with pytest.raises(ValueError, match=r"precision='half'; choose from fp32, bf16, auto"):
        runtime.resolve_precision("half")
    with pytest.raises(ValueError, match="resolved"):
        runtime.autocast(torch.device("cpu"), "auto")


def test_the_probe_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    assert runtime.gemm_seconds(torch.float32, n=16, repeats=2) > 0
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads


def test_autocast_runs_bf16_only_when_asked():
    x, w = torch.randn(4, 8), torch.randn(3, 8)
    with runtime.autocast(torch.device("cpu"), "bf16"):
        assert torch.nn.functional.linear(x, w).dtype == torch.bfloat16
    with runtime.autocast(torch.device("cpu"), "fp32"):
        assert torch.nn.functional.linear(x, w).dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_named():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        runtime.resolve_device("cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        TrainConfig(device="cuda")

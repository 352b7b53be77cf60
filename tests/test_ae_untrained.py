"""Chapter 4's stop on an untrained model: every seed must fail, one collapsed seed is an outcome."""
import pandas as pd
import pytest

from kanmix.studies._autoencoders import _stop_on_untrained


def _runs(beats: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"dataset": "mnist", "n_train": 60000, "epochs": 10, "bottleneck": 9, "key": "cnn",
                         "model": "cnn", "seed": range(len(beats)), "beats_mean": beats,
                         "test_mse": [0.1 if b else 0.39 for b in beats], "hash": [f"h{i}" for i in range(len(beats))]})


def test_one_collapsed_seed_of_three_is_kept_as_an_outcome():
    _stop_on_untrained(_runs([True, True, False]))  # returns: nothing to stop on


def test_a_model_whose_every_seed_loses_to_the_mean_image_stops_the_chapter():
    with pytest.raises(ValueError, match=r"every one of its 3 seed\(s\).*records h0, h1, h2"):
        _stop_on_untrained(_runs([False, False, False]))


def test_a_single_seed_setting_that_loses_stops_it_and_one_without_a_baseline_does_not():
    runs = pd.concat([_runs([True, True]), _runs([False]).assign(bottleneck=150, hash="lone")])
    with pytest.raises(ValueError, match="bottleneck 150 .*records lone"):
        _stop_on_untrained(runs)
    _stop_on_untrained(_runs([True]).assign(beats_mean=None))  # no mean image to judge by: nothing to stop on

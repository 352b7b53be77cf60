import math

import numpy as np
import pytest
import torch

from kanmix import ae, data, models, runner, train
from kanmix.splits import load_split

TINY = {"model_kwargs": {"hidden": 8}, "subset": 200, "test_subset": 100, "epochs": 1, "batch_size": 64}
pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture(scope="module")
def slices():
    """Train and test images of pure noise: KNN's protocol, not the images, is under test."""
    g = torch.Generator().manual_seed(0)
    x, xt = (torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g) for n in (120, 60))
    return (x, torch.arange(120) % 10), (xt, torch.arange(60) % 10)


class RecordingKNN(ae.KNeighborsClassifier):
    calls: list = []

    def fit(self, X, y):
        RecordingKNN.calls.append(("fit", np.array(X)))
        return super().fit(X, y)

    def score(self, X, y, sample_weight=None):
        RecordingKNN.calls.append(("score", np.array(X)))
        return super().score(X, y)


def test_knn_fits_on_train_latents_and_scores_on_disjoint_test_latents(monkeypatch, slices):
    (x, y), (xt, yt) = slices
    monkeypatch.setattr(ae, "KNeighborsClassifier", RecordingKNN)
    RecordingKNN.calls = []
    torch.manual_seed(0)
    model = models.build_model("mlp_ae", in_shape=(1, 28, 28), hidden=16, bottleneck=4)
    out = ae.latent_quality(model, x, y, xt, yt, k=3, authors_features="latent")
    (f1, fit_x), (s1, score_x), (f2, authors_fit), (s2, authors_score) = RecordingKNN.calls
    assert (f1, s1, f2, s2) == ("fit", "score", "fit", "score")
    np.testing.assert_allclose(fit_x, train.encode(model, x).numpy())
    np.testing.assert_allclose(score_x, train.encode(model, xt).numpy())
    assert fit_x.shape == (120, 4) and score_x.shape == (60, 4)
    # Train and test latents are disjoint sets of points: no test row occurs among the train rows.
    assert not (score_x[:, None, :] == fit_x[None, :, :]).all(-1).any()
    # The authors' variant fits and scores on the very same test-set features.
    np.testing.assert_array_equal(authors_fit, authors_score)
    np.testing.assert_allclose(authors_fit, score_x)
    assert 0.0 <= out["knn_accuracy"] <= 1.0 and out["knn_authors_features"] == "latent"


def test_authors_variant_is_optimistic_by_construction(slices):
    # With k=1 every test point is its own nearest neighbour: perfect "accuracy" for any features.
    (x, y), (xt, yt) = slices
    torch.manual_seed(0)
    model = models.build_model("mlp_ae", in_shape=(1, 28, 28), hidden=16, bottleneck=8)
    out = ae.latent_quality(model, x, y, xt, yt, k=1, authors_features="reconstruction")
    assert out["knn_authors"] == 1.0
    assert out["knn_accuracy"] < 1.0


def test_psnr_on_unit_scale():
    assert ae.psnr(0.01) == pytest.approx(20.0)
    assert ae.psnr(1.0) == pytest.approx(0.0)


def test_run_writes_record_and_is_reused(monkeypatch):
    cfg = ae.ae_config("kan", "mnist", 4, **TINY)
    assert cfg.train.lr == 1e-3 and cfg.train.weight_decay == 1e-4  # the paper's recipe
    assert ae.AutoencoderRun.from_dict({"dataset": "mnist", "model": "kan", "bottleneck": 4}).train.grad_clip is None
    rec = runner.record(cfg)
    m = rec["metrics"]
    assert m["n_train"] == 200 and m["n_test"] == 100
    assert m["test_mse_01"] == pytest.approx(m["test_mse"] / 4)
    assert m["psnr"] == pytest.approx(10 * math.log10(4 / m["test_mse"]))
    assert m["params"] == models.count_parameters(models.build_model("kan_ae", in_shape=(1, 28, 28),
                                                                      hidden=8, bottleneck=4))
    assert len(rec["curve"]) == 1 and rec["curve"][0]["test_mse"] == pytest.approx(m["test_mse"], rel=1e-5)
    assert m["knn_authors_features"] == "reconstruction"  # the authors scored KAN models on reconstructions

    monkeypatch.setattr(runner, "fit", lambda *a, **k: pytest.fail("a finished run must be reused, not retrained"))
    again = runner.record(cfg)
    assert again["metrics"] == m and again["hash"] == rec["hash"] and again["config"] == cfg.to_dict()


def test_sweep_is_tidy_and_validates_every_config_before_training(monkeypatch):
    df = ae.sweep(["mlp", "cnn"], ["mnist"], [9, 18], progress=False, device="cpu", **TINY | {"model_kwargs": {}})
    assert list(df.columns) == ae.COLUMNS
    assert sorted(zip(df.model, df.bottleneck)) == [("cnn", 9), ("cnn", 18), ("mlp", 9), ("mlp", 18)]
    assert (df.knn_authors_features == "latent").all() and df.knn_accuracy.between(0, 1).all()

    monkeypatch.setattr(runner, "fit", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(ValueError, match="multiple of"):  # the CNN latent is 2 x 3 x 3 on MNIST
        ae.sweep(["mlp", "cnn"], ["mnist"], [9, 16], progress=False, **TINY | {"model_kwargs": {}})
    with pytest.raises(ValueError, match="bottleneck=0"):
        ae.ae_config("kan", "mnist", 0)
    with pytest.raises(ValueError, match="unknown autoencoder"):
        ae.ae_config("vae", "mnist", 8)
    with pytest.raises(ValueError, match="takes no fold"):
        ae.AutoencoderRun.from_dict({"dataset": "mnist", "model": "mlp", "bottleneck": 8,
                                     "fold": {"folds": 2, "fold": 0}})


def test_keep_weights_stores_the_model_and_load_trained_reproduces_the_record(training_calls):
    cfg = ae.ae_config("mlp", "mnist", 4, **TINY | {"model_kwargs": {"hidden": 16}})
    rec = runner.record(cfg)
    assert runner.load_trained(cfg) is None  # not kept unless asked
    kept = runner.record(cfg, keep_weights=True)
    assert len(training_calls) == 2  # the record lacked weights, so the run was trained again to keep them
    assert kept["metrics"]["test_mse"] == pytest.approx(rec["metrics"]["test_mse"], rel=1e-5)
    runner.record(cfg, keep_weights=True)
    assert len(training_calls) == 2  # now the weights are there: reused

    model = runner.load_trained(cfg)
    assert not model.training
    _, _, (xt, _) = load_split(cfg.split)
    out = train.predict(model, xt, batch_size=64, device="cpu", precision=cfg.train.precision)
    mse = torch.nn.functional.mse_loss(out, data.to_float(xt))
    assert mse.item() == pytest.approx(kept["metrics"]["test_mse"], rel=1e-5)

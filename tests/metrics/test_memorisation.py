"""The memorisation report: copies of the training set are caught, fresh samples of the same
distribution are not, and nearest neighbours match brute force."""

from __future__ import annotations

import numpy as np
import pytest

from ganx.metrics import memorisation_report, nearest


def test_nearest_matches_brute_force_and_can_skip_each_query_itself():
    rng = np.random.default_rng(0)
    bank, queries = rng.normal(size=(300, 5)), rng.normal(size=(40, 5))
    d, i = nearest(queries, bank)
    brute = np.sqrt(((queries[:, None] - bank[None]) ** 2).sum(-1))
    assert np.array_equal(i, brute.argmin(1))
    assert np.allclose(d, brute.min(1))
    rows = np.arange(10, dtype=np.int64)
    d_loo, i_loo = nearest(bank[:10], bank, exclude=rows)
    assert not np.any(i_loo == rows) and np.all(d_loo > 0)


def test_copies_of_the_training_set_are_caught():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(2000, 8))
    copies = train[:500] + rng.normal(scale=1e-3, size=(500, 8))
    report = memorisation_report(copies, train)
    assert report.values["memo_close_share"] == 1.0
    assert report.values["memo_nn_ratio"] < 0.01
    assert report.values["memo_heldout"] == 0.0  # leave-one-out baseline
    assert [j for _, j, _ in report.closest] == [i for i, _, _ in report.closest]


@pytest.mark.parametrize("with_heldout", [True, False])
def test_fresh_samples_of_the_same_distribution_are_not(with_heldout):
    rng = np.random.default_rng(2)
    train, fresh = rng.normal(size=(3000, 4)), rng.normal(size=(2000, 4))
    heldout = rng.normal(size=(1000, 4)) if with_heldout else None
    report = memorisation_report(fresh, train, heldout)
    assert report.values["memo_close_share"] == pytest.approx(0.05, abs=0.02)
    assert report.values["memo_nn_ratio"] == pytest.approx(1.0, abs=0.1)
    assert report.values["memo_heldout"] == float(with_heldout)

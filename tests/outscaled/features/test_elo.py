import pytest

from outscaled.features.elo import expected_score


def test_expected_score_is_symmetric():
    assert expected_score(1600, 1400) + expected_score(1400, 1600) == pytest.approx(1.0)
    assert expected_score(1500, 1500) == 0.5

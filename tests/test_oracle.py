import numpy as np
import pytest

import sharpsim as ss


def test_counts_every_pair_and_budget():
    pi = ss.TabularPolicy([[0.7, 0.3], [0.2, 0.8]])
    oracle = ss.SampleEvaluateOracle(pi, budget=25, rng=0)
    x = oracle.draw_prompts(4)
    y, logp = oracle.sample(x, 5)
    assert y.shape == (4, 5) and oracle.queries == 20
    np.testing.assert_array_equal(logp, pi.log_prob(x[:, None], y))
    with pytest.raises(ss.QueryBudgetExceeded, match="exceeds the budget"):
        oracle.sample(x, 2)
    assert oracle.queries == 20
    oracle.evaluate(x[:2], np.zeros((2, 2), dtype=int))
    assert oracle.queries == 24 and oracle.evaluated == 4


def test_bad_inputs():
    pi = ss.TabularPolicy([[0.7, 0.3]])
    with pytest.raises(TypeError, match="base"):
        ss.SampleEvaluateOracle(np.eye(2))
    with pytest.raises(ValueError, match="mu must have length"):
        ss.SampleEvaluateOracle(pi, mu=[0.5, 0.5])
    with pytest.raises(ValueError, match="budget"):
        ss.SampleEvaluateOracle(pi, budget=-1)

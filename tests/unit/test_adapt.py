"""Few-shot weights: chosen on the examples themselves, and a label without examples neither helped nor hurt."""

from __future__ import annotations

import numpy as np

from sensorium.adapt import ExampleSet, adapted, choose_weight, leave_one_out


def unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_examples_that_agree_with_each_other_get_weight_and_win_over_wrong_words() -> None:
    # two labels, two examples each, clustered apart; the words lean the wrong way for every one
    vectors = unit([[1, 0.1], [1, -0.1], [0.1, 1], [-0.1, 1]])
    labels = np.array([0, 0, 1, 1])
    wrong_words = np.array([[0.3, 0.7], [0.3, 0.7], [0.7, 0.3], [0.7, 0.3]])
    ex = ExampleSet(vectors, labels, wrong_words)
    ex.weight = choose_weight(ex, 2, default=0.0)
    assert ex.weight > 0
    p = adapted(np.array([0.4, 0.6]), np.array([1.0, 0.05]), ex)
    assert p.argmax() == 0 and abs(p.sum() - 1) < 1e-6


def test_examples_that_mislead_get_no_weight() -> None:
    # each example looks most like the other label's: the words, which are right, are kept alone
    vectors = unit([[1, 0.1], [0.1, 1], [1, -0.1], [-0.1, 1]])
    labels = np.array([0, 0, 1, 1])
    right_words = np.array([[0.8, 0.2], [0.8, 0.2], [0.2, 0.8], [0.2, 0.8]])
    ex = ExampleSet(vectors, labels, right_words)
    assert choose_weight(ex, 2, default=0.5) == 0.0
    words = np.array([0.8, 0.2])
    assert np.array_equal(adapted(words, np.array([0.1, 1.0]), ExampleSet(vectors, labels, right_words, 0.0)), words)


def test_too_few_examples_to_choose_take_the_default_and_a_label_without_examples_is_neutral() -> None:
    ex = ExampleSet(unit([[1, 0], [0, 1]]), np.array([0, 1]), np.full((2, 3), 1 / 3))
    assert choose_weight(ex, 3, default=0.5) == 0.5  # one example a label: nothing to classify from the others
    ex.weight = 0.5
    p = adapted(np.full(3, 1 / 3), np.array([0.0, 1.0]), ex)  # label 2 has no examples
    assert p.argmax() == 1 and p[2] > p[0]  # it keeps the middle: neither for nor against


def test_leave_one_out_reports_both_top1s() -> None:
    vectors = unit([[1, 0.1], [1, -0.1], [0.1, 1], [-0.1, 1], [-1, -1]])
    y = np.array([0, 0, 1, 1, 2])
    words = np.tile([0.2, 0.3, 0.5], (5, 1))  # the words say label 2 every time
    report = leave_one_out(vectors, words, y, "image")
    assert report.n == 4 and report.zero_shot_top1 == 0.0 and report.top1 == 1.0
    assert sum(report.weights.values()) == 4

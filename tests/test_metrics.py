import numpy as np
import pytest

from srmer.eval.metrics import all_metrics, confusion, uar, uf1, war


def test_war_is_accuracy():
    assert war([0, 1, 2, 2], [0, 1, 1, 2]) == pytest.approx(0.75)


def test_uar_weights_classes_equally():
    # class 0: 8 samples all right; class 1: 2 samples, 1 right -> UAR = (1 + 0.5)/2, WAR = 9/10
    y = [0] * 8 + [1, 1]
    p = [0] * 8 + [1, 0]
    assert uar(y, p) == pytest.approx(0.75)
    assert war(y, p) == pytest.approx(0.9)


def test_uf1_pooled_counts_against_hand_computation():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, 2])
    # class 0: TP2 FP0 FN1 -> 4/5; class 1: TP1 FP1 FN1 -> 2/4; class 2: TP1 FP1 FN0 -> 2/3
    assert uf1(y, p) == pytest.approx(np.mean([4 / 5, 2 / 4, 2 / 3]))


def test_uf1_counts_a_never_predicted_class_as_zero():
    assert uf1([0, 1], [0, 0]) == pytest.approx(np.mean([2 / 3, 0.0]))


def test_confusion_rows_are_true_classes():
    cm = confusion(["a", "a", "b"], ["a", "b", "b"], labels=["a", "b"])
    assert cm.tolist() == [[1, 1], [0, 1]]


def test_all_metrics_keys():
    assert set(all_metrics([0, 1], [0, 1])) == {"war", "uar", "uf1"}

"""Utility: is the anonymized data set still good for training? A downstream classifier trained on it and
tested on held-out originals, against the same classifier trained on the originals; and how close the public
caption stays to the private one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def downstream_accuracy(train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray,
                        test_y: Sequence[str], seed: int = 0) -> tuple[float, np.ndarray]:
    """(top-1 accuracy, per-test-image correctness) of a logistic regression on embedder features; the
    per-image vector lets the caller bootstrap an interval."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(set(train_y)) < 2:
        raise ValueError("the training split needs at least two classes")
    scaler = StandardScaler().fit(train_x)
    clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed).fit(scaler.transform(train_x), list(train_y))
    correct = clf.predict(scaler.transform(test_x)) == np.asarray(list(test_y))
    return float(correct.mean()), correct


def training_view(flagged: Sequence[bool], original: np.ndarray, anonymized: np.ndarray) -> np.ndarray:
    """The published ImageMAEDataset rule: the anonymized image for rows flagged private, else the original."""
    flags = np.asarray(flagged, bool)[:, None]
    return np.where(flags, anonymized, original)


def caption_similarity(private_emb: np.ndarray, public_emb: np.ndarray) -> np.ndarray:
    """Row-wise cosine of L2-normalised caption embeddings (public vs private caption of each image)."""
    a = private_emb / np.maximum(np.linalg.norm(private_emb, axis=1, keepdims=True), 1e-12)
    b = public_emb / np.maximum(np.linalg.norm(public_emb, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


def flag_scores(truth: Sequence[bool], predicted: Sequence[bool]) -> dict:
    """Accuracy, precision, recall, F1 and the confusion matrix [[TN, FP], [FN, TP]] (evaluate_flags)."""
    t, p = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp, tn = int((t & p).sum()), int((~t & ~p).sum())
    fp, fn = int((~t & p).sum()), int((t & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"accuracy": (tp + tn) / max(1, len(t)), "precision": precision, "recall": recall, "f1": f1,
            "confusion": [[tn, fp], [fn, tp]], "n": int(len(t))}

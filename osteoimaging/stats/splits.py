"""Reproducible stratified train/validation split (the radiomics study's 7:3 split)."""

from __future__ import annotations

import numpy as np

from osteoimaging.errors import InputError


def stratified_split(y, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` with each class split in the same proportion.

    Within each class the cases are shuffled with ``numpy.random.default_rng(seed)`` and
    ``round(test_fraction · n_class)`` go to the test set, so the class ratio is kept in both
    parts and the same seed always gives the same split. Indices are returned sorted.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise InputError("labels for the split must be a non-empty 1-D sequence")
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test fraction must be in (0, 1), got {test_fraction}")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InputError(f"labels have a single class ({classes[0]}); cannot stratify")
    rng = np.random.default_rng(seed)
    test = []
    for cls, count in zip(classes, counts, strict=True):
        members = rng.permutation(np.flatnonzero(y == cls))
        k = round(test_fraction * int(count))
        if k == 0 or k == count:
            raise InputError(f"class {cls} has {count} cases: too few to split {test_fraction}")
        test.append(members[:k])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return train_idx, test_idx

#!/usr/bin/env python3
"""Export the UCI optical-digits images shipped in scikit-learn to data/digits_{train,test}.csv.

Run once (needs scikit-learn and NumPy; the demo itself needs neither):

    python3 data/export_digits.py

Output format (no header): one sample per line, `label,p0,...,p63`, with the label in 0..9 and the
64 pixel counts of the 8x8 image (row-major) as integers in 0..16.

Split: stratified, fixed: for every class c, the samples of class c (in scikit-learn's order) are
permuted with numpy.random.default_rng(SEED) and the first round(0.2 * count) go to the test set.
Both files keep scikit-learn's original sample order within themselves.
"""
import os

import numpy as np
from sklearn.datasets import load_digits

SEED = 20260226
TEST_FRACTION = 0.2


def main() -> None:
    d = load_digits()
    x = d.data.astype(np.int64)
    y = d.target.astype(np.int64)
    assert x.shape == (1797, 64) and x.min() >= 0 and x.max() <= 16
    rng = np.random.default_rng(SEED)
    is_test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        n_test = int(round(TEST_FRACTION * len(idx)))
        is_test[rng.permutation(idx)[:n_test]] = True
    here = os.path.dirname(os.path.abspath(__file__))
    for name, mask in (("train", ~is_test), ("test", is_test)):
        path = os.path.join(here, f"digits_{name}.csv")
        with open(path, "w", newline="\n") as f:
            for label, row in zip(y[mask], x[mask]):
                f.write(",".join([str(label)] + [str(v) for v in row]) + "\n")
        counts = np.bincount(y[mask], minlength=10)
        print(f"{path}: {mask.sum()} samples, per class {counts.tolist()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch version of the training demo: a 64-64-10 MLP on the optical digits (data/), trained with
cross-entropy and with the multiclass HyperSimplex loss (hypersimplex.torch, the installed package:
`pip install ./python`) with k_c = label counts of each batch and with the authors' k_c = B/2, tau = 1.5,
mean reduction, Adam lr 1e-2 (as c-examples/train, which also explains the results). HS runs are
also scored by the calibrated argmax of logits/τ − λ̄_c, λ̄ a running mean of the batches' λ_c.

    python3 python/train_torch.py [--batch 256] [--epochs 60] [--smoke]

--smoke: 5 epochs on one batch size (what the tests run). Exits 0 with "skipped: ..." where torch
or the hypersimplex package cannot be imported (scripts/test-python.sh runs it with both).
"""
import argparse
import sys
from pathlib import Path

try:
    import torch

    import hypersimplex.torch as hst
except ImportError as e:
    print(f"skipped: {e} (python/train_torch.py needs PyTorch and `pip install ./python`)")
    sys.exit(0)
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--epochs", type=int, default=60)
ap.add_argument("--smoke", action="store_true")
args = ap.parse_args()
epochs = 5 if args.smoke else args.epochs
data = Path(__file__).resolve().parent.parent / "data"
load = lambda n: np.loadtxt(data / f"digits_{n}.csv", delimiter=",", dtype=np.float32)  # noqa: E731
tr, te = load("train"), load("test")
xtr, ytr = torch.from_numpy(tr[:, 1:] / 16), torch.from_numpy(tr[:, 0]).long()
xte, yte = torch.from_numpy(te[:, 1:] / 16), torch.from_numpy(te[:, 0]).long()


def hs_loss(half):  # k=None: k_c = count of label c in the batch; else k_c = B/2 for every class
    # returns (loss, λ of the batch, which classes' λ to average: k_c = 0 leaves λ_c arbitrary)
    def fn(logits, y):
        loss, lam = hst.hypersimplex_loss_multiclass(
            logits, y, k=len(y) / 2 if half else None, tau=1.5, reduction="mean", return_lambda=True)
        return loss, lam, torch.ones(10, dtype=torch.bool) if half else torch.bincount(y, minlength=10) > 0
    return fn


def ce(logits, y):
    return torch.nn.functional.cross_entropy(logits, y), None, None


losses = {"CE": ce, "HS k=counts": hs_loss(False), "HS k=B/2": hs_loss(True)}
for name, loss_fn in losses.items():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    best, best_cal, lam_run = 0.0, 0.0, None
    for epoch in range(epochs):
        for idx in torch.randperm(len(ytr)).split(args.batch):
            opt.zero_grad()
            loss, lam, seen = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            assert torch.isfinite(loss), f"{name}: non-finite loss"
            opt.step()
            if lam is not None:  # running mean of the thresholds λ_c (momentum 0.1, as batch norm)
                lam_run = lam.clone() if lam_run is None else torch.where(seen, 0.9 * lam_run + 0.1 * lam, lam_run)
        with torch.no_grad():
            logits = net(xte)
            best = max(best, (logits.argmax(1) == yte).float().mean().item())
            if lam_run is not None:  # calibrated prediction: argmax_c logits_c/τ − λ̄_c
                best_cal = max(best_cal, (hst.calibrated_argmax(logits, lam_run, 1.5) == yte).float().mean().item())
    cal = f", calibrated {best_cal:.4f}" if lam_run is not None else ""
    print(f"{name}: batch {args.batch}, {epochs} epochs, best test accuracy {best:.4f}{cal}")
    if args.smoke and min(best, best_cal if lam_run is not None else 1.0) < 0.4:
        sys.exit(f"FAIL: {name} did not learn (best test accuracy {best:.4f}{cal} < 0.4)")

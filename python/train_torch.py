#!/usr/bin/env python3
"""PyTorch version of the training demo: a 64-64-10 MLP on the optical digits (data/), trained with
cross-entropy and with the multiclass HyperSimplex loss (hypersimplex.torch, the installed package:
`pip install ./python`) with k_c = label counts of each batch and with the authors' k_c = B/2, tau = 1.5,
mean reduction, Adam lr 1e-2 (as c-examples/train, which also explains the results).

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
    return lambda logits, y: hst.hypersimplex_loss_multiclass(
        logits, y, k=len(y) / 2 if half else None, tau=1.5, reduction="mean")


losses = {"CE": torch.nn.functional.cross_entropy, "HS k=counts": hs_loss(False), "HS k=B/2": hs_loss(True)}
for name, loss_fn in losses.items():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    best = 0.0
    for epoch in range(epochs):
        for idx in torch.randperm(len(ytr)).split(args.batch):
            opt.zero_grad()
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            assert torch.isfinite(loss), f"{name}: non-finite loss"
            opt.step()
        with torch.no_grad():
            best = max(best, (net(xte).argmax(1) == yte).float().mean().item())
    print(f"{name}: batch {args.batch}, {epochs} epochs, best test accuracy {best:.4f}")
    if args.smoke and best < 0.4:
        sys.exit(f"FAIL: {name} did not learn (best test accuracy {best:.4f} < 0.4)")

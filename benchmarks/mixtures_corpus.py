"""A generated multi-domain token corpus for the `dolma ablate` / `dolma ladder` demonstrations.

Four clearly distinct domains over one 256-token vocabulary, each a first-order Markov chain with its own
successor sets and sharpness: `web` (12 successors per token, over all 256 ids), `code` (3 successors, peaked,
ids 0-127), `math` (6 successors, ids 64-191) and `books` (24 successors, ids 128-255). The id ranges overlap, so
domains share tokens but not transitions: training on one helps another only a little. Shards are raw uint16
`.npy` files without a header, as `dolma tokens` writes them: `train/<domain>/part-0.npy` and
`heldout/<domain>/part-0.npy` (drawn from other chains, never trained on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCAB = 256


@dataclass(frozen=True)
class Domain:
    name: str
    successors: int
    concentration: float
    low: int
    high: int


DOMAINS = (
    Domain("web", 12, 1.0, 0, 256),
    Domain("code", 3, 0.3, 0, 128),
    Domain("math", 6, 0.5, 64, 192),
    Domain("books", 24, 1.0, 128, 256),
)


def _chain(domain: Domain, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per token: its successor ids and their cumulative probabilities."""
    rng = np.random.default_rng(seed)
    succ = rng.integers(domain.low, domain.high, (VOCAB, domain.successors))
    probs = rng.dirichlet([domain.concentration] * domain.successors, VOCAB)
    return succ, np.cumsum(probs, axis=1)


def sample(domain: Domain, tokens: int, seed: int, chain_seed: int, doc_length: int = 256) -> np.ndarray:
    """`tokens` ids of the domain: independent documents of `doc_length` tokens, generated side by side."""
    succ, cum = _chain(domain, chain_seed)
    rng = np.random.default_rng(seed)
    docs = -(-tokens // doc_length)
    out = np.empty((docs, doc_length), dtype=np.int64)
    out[:, 0] = rng.integers(domain.low, domain.high, docs)
    for t in range(1, doc_length):
        u = rng.random(docs)
        idx = np.minimum((cum[out[:, t - 1]] < u[:, None]).sum(axis=1), domain.successors - 1)
        out[:, t] = succ[out[:, t - 1], idx]
    return out.reshape(-1)[:tokens].astype(np.uint16)


def write_base(root: Path, tokens: int) -> Path:
    """A separate base corpus (`train/base/part-0.npy`) for a seed model: documents of all four domains, a quarter
    each, interleaved, drawn from other documents than the domains' train and held-out shards."""
    path = root / "train" / "base" / "part-0.npy"
    if path.exists() and path.stat().st_size == 2 * tokens:
        return path
    doc = 256
    per_domain = -(-tokens // (len(DOMAINS) * doc)) * doc
    parts = [
        sample(d, per_domain, seed=1000 + k, chain_seed=k, doc_length=doc).reshape(-1, doc)
        for k, d in enumerate(DOMAINS)
    ]
    mixed = np.stack(parts, axis=1).reshape(-1)[:tokens]
    path.parent.mkdir(parents=True, exist_ok=True)
    mixed.astype(np.uint16).tofile(path)
    return path


def write_corpus(root: Path, train_tokens: int, heldout_tokens: int) -> dict[str, Path]:
    """Write (once) every domain's train and held-out shard under `root`; returns domain -> train shard."""
    out = {}
    for k, domain in enumerate(DOMAINS):
        train = root / "train" / domain.name / "part-0.npy"
        heldout = root / "heldout" / domain.name / "part-0.npy"
        if not (train.exists() and train.stat().st_size == 2 * train_tokens and heldout.exists()):
            train.parent.mkdir(parents=True, exist_ok=True)
            heldout.parent.mkdir(parents=True, exist_ok=True)
            sample(domain, train_tokens, seed=10 + k, chain_seed=k).tofile(train)
            sample(domain, heldout_tokens, seed=100 + k, chain_seed=k).tofile(heldout)
        out[domain.name] = train
    return out

"""Choosing the mix before paying for it: merge-based data ablations (`dolma ablate`) and model ladders
(`dolma ladder`), on top of `dolma_py/train/`.

`points.py` reads and writes a ladder's POINTS.csv, `fit.py` fits the two ladder steps, `plots.py` draws them;
`shards.py` and `evaluate.py` score checkpoints on held-out token shards and multiple-choice sets, `seeded.py`
starts a training run from a seed model's weights, `ablate.py` and `ladder.py` plan and run the two commands.
"""

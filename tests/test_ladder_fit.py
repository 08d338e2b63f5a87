"""`dolma ladder fit`: the fit recovers a known law 100x beyond its points; step 2 recovers a sigmoid; degenerate
POINTS.csv files fail with clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from dolma_py.cli.main import main  # noqa: E402
from dolma_py.errors import DataError  # noqa: E402
from dolma_py.mixtures.fit import FitError, fit_loss_law, fit_sigmoid  # noqa: E402
from dolma_py.mixtures.ladder_fit import fit_ladder  # noqa: E402
from dolma_py.mixtures.points import Point, read_points, write_points  # noqa: E402

LAW = {"A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28, "E": 1.69}
"""Chinchilla's fitted law (Hoffmann et al. 2022)."""
SIZES = (1e6, 3e6, 1e7, 3e7)
MULTIPLES = (1, 2, 4)
SIGMOID = {"a": 0.6, "k": -6.0, "L0": 3.0, "b": 0.25}


def law(n: float, d: float) -> float:
    return LAW["A"] / n ** LAW["alpha"] + LAW["B"] / d ** LAW["beta"] + LAW["E"]


def accuracy(task_loss: float) -> float:
    return SIGMOID["a"] / (1 + math.exp(-SIGMOID["k"] * (task_loss - SIGMOID["L0"]))) + SIGMOID["b"]


def ladder_points(noise: float, seed: int, tasks: bool = False) -> list[Point]:
    """4 sizes x 3 multiples of 20 tokens per parameter, losses with multiplicative log-normal noise; with `tasks`,
    three checkpoints per run whose task loss is 1.5x the loss and whose accuracy follows SIGMOID."""
    rng = np.random.default_rng(seed)
    points = []
    for n in SIZES:
        for m in MULTIPLES:
            d = 20 * m * n
            fractions = (0.25, 0.5, 1.0) if tasks else (1.0,)
            for f in fractions:
                loss = law(n, f * d) * math.exp(rng.normal(0, noise))
                if not tasks:
                    points.append(Point(n, d, loss))
                    continue
                task_loss = 1.5 * law(n, f * d) * math.exp(rng.normal(0, noise))
                acc = accuracy(task_loss) + rng.normal(0, 0.005)
                points.append(Point(n, f * d, loss, final=f == 1.0, task="toy", accuracy=acc, task_loss=task_loss))
    return points


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_recovers_the_law_100x_beyond_the_largest_point(seed: int) -> None:
    points = ladder_points(noise=0.002, seed=seed)
    fitted, _ = fit_loss_law(*(np.array([getattr(p, k) for p in points]) for k in ("params", "tokens", "loss")))
    target_n = 100 * max(SIZES)
    target_d = 20 * target_n
    assert abs(fitted.predict(target_n, target_d) / law(target_n, target_d) - 1) < 0.02


def test_noise_free_points_give_the_law_back() -> None:
    points = ladder_points(noise=0.0, seed=0)
    fitted, _ = fit_loss_law(*(np.array([getattr(p, k) for p in points]) for k in ("params", "tokens", "loss")))
    assert fitted.alpha == pytest.approx(LAW["alpha"], rel=1e-3)
    assert fitted.beta == pytest.approx(LAW["beta"], rel=1e-3)
    assert fitted.E == pytest.approx(LAW["E"], rel=1e-3)


def test_sigmoid_fit_recovers_the_curve() -> None:
    x = np.linspace(2.0, 4.0, 30)
    y = np.array([accuracy(v) for v in x])
    fitted = fit_sigmoid(x, y)
    for loss in (2.2, 3.0, 3.8):
        assert fitted.predict(loss) == pytest.approx(accuracy(loss), abs=1e-4)


def test_cli_writes_json_and_plot_with_bootstrap_and_tasks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = tmp_path / "POINTS.csv"
    write_points(csv, ladder_points(noise=0.002, seed=0, tasks=True))
    assert len(read_points(csv)) == 36
    rc = main(
        [
            "ladder",
            "fit",
            "--points",
            str(csv),
            "--target-params",
            "3B",
            "--target-tokens",
            "60B",
            "--bootstrap",
            "20",
            "--plot",
            "fit.svg",
        ]
    )
    assert rc == 0
    report = json.loads((tmp_path / "ladder_fit.json").read_text())
    pred = report["loss"]["prediction"]
    assert pred["samples"] == 20 and pred["low"] <= pred["value"] <= pred["high"]
    assert abs(pred["value"] / law(3e9, 6e10) - 1) < 0.02
    toy = report["tasks"]["toy"]
    assert toy["points"] == 36
    expected_acc = accuracy(1.5 * law(3e9, 6e10))
    assert toy["predicted_accuracy"]["value"] == pytest.approx(expected_acc, abs=0.03)
    assert (tmp_path / "fit.svg").read_text().startswith("<?xml")
    assert "predicted loss at N=3e+09" in capsys.readouterr().out


def test_same_inputs_give_identical_outputs(tmp_path: Path) -> None:
    csv = tmp_path / "POINTS.csv"
    write_points(csv, ladder_points(noise=0.002, seed=1))
    outputs = []
    for name in ("a", "b"):
        main(
            [
                "ladder",
                "fit",
                "--points",
                str(csv),
                "--target-params",
                "1e9",
                "--target-tokens",
                "2e10",
                "--bootstrap",
                "5",
                "--out",
                str(tmp_path / name),
                "--plot",
                "p.svg",
            ]
        )
        outputs.append(((tmp_path / name / "ladder_fit.json").read_bytes(), (tmp_path / name / "p.svg").read_bytes()))
    assert outputs[0] == outputs[1]


def test_too_few_points_single_size_and_one_ratio_fail_clearly() -> None:
    few = ladder_points(noise=0.0, seed=0)[:4]
    with pytest.raises(FitError, match="at least 5 final points"):
        fit_ladder(few, 1e9, 2e10, bootstrap=0)
    one_size = [Point(1e6, 20e6 * m, law(1e6, 20e6 * m)) for m in (1, 2, 4, 8, 16)]
    with pytest.raises(FitError, match="one model size"):
        fit_ladder(one_size, 1e9, 2e10, bootstrap=0)
    one_ratio = [Point(n, 20 * n, law(n, 20 * n)) for n in (1e6, 2e6, 4e6, 8e6, 16e6)]
    with pytest.raises(FitError, match="same tokens per parameter"):
        fit_ladder(one_ratio, 1e9, 2e10, bootstrap=0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1e6,2e7,0", r"POINTS.csv:3: column 'loss' must be a finite number > 0, got '0'"),
        ("-1e6,2e7,3.1", r"POINTS.csv:3: column 'params' must be a finite number > 0"),
        ("1e6,lots,3.1", r"POINTS.csv:3: column 'tokens' must be a number, got 'lots'"),
    ],
)
def test_non_positive_or_non_numeric_values_name_file_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    csv = tmp_path / "POINTS.csv"
    csv.write_text(f"params,tokens,loss\n1e6,2e7,3.2\n{row}\n")
    with pytest.raises(DataError, match=message):
        read_points(csv)


def test_missing_column_and_cli_error_exit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = tmp_path / "POINTS.csv"
    csv.write_text("params,loss\n1e6,3.2\n")
    assert main(["ladder", "fit", "--points", str(csv), "--target-params", "1B", "--target-tokens", "20B"]) == 2
    assert "POINTS.csv:1: missing column(s) tokens" in capsys.readouterr().err

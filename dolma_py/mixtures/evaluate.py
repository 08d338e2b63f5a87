"""Scoring a model: mean next-token loss per evaluation set, and ranked-classification multiple choice.

Multiple-choice sets are JSONL lines `{"context": ..., "choices": [...], "answer": i}`, each field either token ids
(lists of ints) or text (then a tokenizer encodes it). A choice's score is the log-likelihood of its tokens given
the context; the prediction is the best-scoring choice. The task loss is the mean per-token negative
log-likelihood of the correct choice, which the ladder's step 2 maps to accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dolma_py.config.train import ModelConfig
from dolma_py.errors import DataError
from dolma_py.mixtures.shards import EvalSet, windows
from dolma_py.train.checkpoint import read_model_state, read_state
from dolma_py.train.model import Transformer


def load_model(checkpoint: Path, state: dict[str, torch.Tensor] | None = None, device: str = "cpu") -> Transformer:
    """The model of a checkpoint (or a soup's) in eval mode, with `state` instead of its weights if given; on
    `device` ("auto": CUDA when available, as `dolma train` picks), in float32."""
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    model = Transformer(ModelConfig(**read_state(checkpoint)["config"]["model"]))
    model.load_state_dict(read_model_state(checkpoint) if state is None else state)
    return model.to("cuda" if use_cuda else "cpu").eval()


@torch.no_grad()
def domain_losses(model: Transformer, sets: list[EvalSet], batch: int) -> dict[str, float]:
    """Mean next-token cross-entropy (nats) over each set's windows, by set name."""
    out = {}
    for eval_set in sets:
        data = windows(eval_set)
        total, count = 0.0, 0
        for i in range(0, len(data), batch):
            x = torch.from_numpy(data[i : i + batch]).to(model.lm_head.weight.device)
            logits = model(x[:, :-1]).float()
            ce = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), reduction="sum")
            total += float(ce)
            count += x[:, 1:].numel()
        out[eval_set.name] = total / count
    return out


@dataclass(frozen=True)
class Question:
    """One multiple-choice item in token ids."""

    context: list[int]
    choices: list[list[int]]
    answer: int


def read_questions(path: str, encode: Callable[[str], list[int]] | None) -> list[Question]:
    """Parse a multiple-choice JSONL file; bad lines fail naming file, line and field."""
    questions = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(path, line_no, f"not valid JSON: {err}") from None

            def tokens(value: object, field: str, line_no: int = line_no) -> list[int]:
                if isinstance(value, str):
                    if encode is None:
                        raise DataError(path, line_no, f"field {field!r} is text: give a tokenizer")
                    return encode(value)
                if isinstance(value, list) and value and all(isinstance(t, int) and t >= 0 for t in value):
                    return list(value)
                raise DataError(path, line_no, f"field {field!r} must be text or a non-empty list of token ids")

            for field in ("context", "choices", "answer"):
                if field not in record:
                    raise DataError(path, line_no, f"field {field!r} is missing")
            choices = record["choices"]
            if not isinstance(choices, list) or len(choices) < 2:
                raise DataError(path, line_no, "field 'choices' must list at least 2 choices")
            answer = record["answer"]
            if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
                raise DataError(path, line_no, f"field 'answer' must be an index into choices, got {answer!r}")
            questions.append(
                Question(
                    tokens(record["context"], "context"),
                    [tokens(c, f"choices[{i}]") for i, c in enumerate(choices)],
                    answer,
                )
            )
    if not questions:
        raise DataError(path, None, "no questions")
    return questions


@torch.no_grad()
def multiple_choice(model: Transformer, questions: list[Question]) -> tuple[float, float]:
    """(accuracy, task loss): ranked classification by the summed log-likelihood of each choice's tokens."""
    limit = model.cfg.max_seq_len + 1
    correct, task_nll = 0, []
    for q in questions:
        scores = []
        for k, choice in enumerate(q.choices):
            seq = (q.context + choice)[-limit:]
            x = torch.tensor([seq], device=model.lm_head.weight.device)
            logp = F.log_softmax(model(x[:, :-1]).float(), dim=-1)[0]
            n = min(len(choice), len(seq) - 1)
            targets = x[0, -n:]
            ll = logp[-n:].gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            scores.append(float(ll.sum()))
            if k == q.answer:
                task_nll.append(-float(ll.mean()))
        correct += int(np.argmax(scores) == q.answer)
    return correct / len(questions), float(np.mean(task_nll))

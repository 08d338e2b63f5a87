"""fastText taggers on tiny models trained here, and the model cache (local, http, s3)."""

from __future__ import annotations

import http.server
import math
import multiprocessing
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fasttext
import pytest

from dolma_py.data import Document, Span
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.io.model_cache import cached_model_path
from taggers.fasttext_taggers import FastTextModel, load_model
from taggers.registry import create_tagger

VOCAB = {
    "en": [f"alpha{i}" for i in range(40)],
    "fr": [f"beta{i}" for i in range(40)],
    "toxic": [f"nasty{i}" for i in range(40)],
    "non_toxic": [f"kind{i}" for i in range(40)],
    "hq": [f"theorem{i}" for i in range(40)],
    "cc": [f"clickhere{i}" for i in range(40)],
}


def words(label: str, n: int, seed: int = 1) -> str:
    """`n` words drawn from one class's vocabulary."""
    rng = random.Random(f"{label}-{seed}")
    return " ".join(rng.choice(VOCAB[label]) for _ in range(n))


def train(directory: Path, labels: tuple[str, str]) -> str:
    """Train a supervised model separating two classes with disjoint vocabularies."""
    rng = random.Random(0)
    lines = []
    for _ in range(300):
        for label in labels:
            lines.append(f"__label__{label} " + " ".join(rng.choice(VOCAB[label]) for _ in range(10)))
    rng.shuffle(lines)
    data = directory / f"{'_'.join(labels)}.txt"
    data.write_text("\n".join(lines) + "\n")
    model = fasttext.train_supervised(input=str(data), epoch=25, lr=0.5, dim=16, thread=1, verbose=0)
    path = directory / f"{'_'.join(labels)}.bin"
    model.save_model(str(path))
    return str(path)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("ft_models")
    return {
        "lang": train(directory, ("en", "fr")),
        "toxic": train(directory, ("toxic", "non_toxic")),
        "quality": train(directory, ("hq", "cc")),
    }


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(id=doc_id, text=text)


def test_training_and_prediction_are_correct(models: dict[str, str]) -> None:
    # the pinned fastText trains without NaN and, under NumPy 2, predicts correct labels and probabilities
    model = FastTextModel(models["lang"])
    assert sorted(model.labels) == ["__label__en", "__label__fr"]
    lines = [words("en", 8), words("fr", 8), words("en", 3, seed=2) + " " + words("fr", 9, seed=2)]
    predictions = model.predict(lines)
    for prediction in predictions:
        assert len(prediction) == 2
        assert all(not math.isnan(p) for _, p in prediction)
        assert sum(p for _, p in prediction) == pytest.approx(1.0, abs=1e-4)
        assert prediction[0][1] >= prediction[1][1]
    assert predictions[0][0][0] == "__label__en" and predictions[0][0][1] > 0.9
    assert predictions[1][0][0] == "__label__fr" and predictions[1][0][1] > 0.9
    assert predictions[2][0][0] == "__label__fr"
    assert model.predict(lines, k=1) == [p[:1] for p in predictions]
    # each line on its own gives exactly what the batch gave
    assert [model.predict([line])[0] for line in lines] == predictions


def test_newlines_do_not_truncate_the_input(models: dict[str, str]) -> None:
    model = FastTextModel(models["lang"])
    text = words("en", 1) + "\n" + words("fr", 12)
    assert model.predict([text]) == model.predict([text.replace("\n", " ")])
    assert model.predict([text])[0][0][0] == "__label__fr"


def test_lines_end_with_the_newline_fasttext_python_appends(models: dict[str, str]) -> None:
    # fastText's `predict` (which dolma calls) appends "\n": an end-of-sentence token that changes the probabilities
    model = FastTextModel(models["lang"])
    text = words("en", 3) + " " + words("fr", 3)
    binding = model._model.predict
    assert model.predict([text]) == [[(label, p) for p, label in binding(text + "\n", -1, 0.0, "replace")]]
    assert model.predict([text]) != [[(label, p) for p, label in binding(text, -1, 0.0, "replace")]]


def test_empty_or_unknown_text_is_predicted_from_the_newline_and_surrogates_are_tolerated(
    models: dict[str, str],
) -> None:
    model = FastTextModel(models["lang"])
    empty, unknown = model.predict(["", "unknownword another"])
    assert [label for label, _ in empty] == [label for label, _ in unknown] and len(empty) == 2
    assert empty == unknown  # unknown words add nothing to the end-of-sentence token
    assert model.predict([words("en", 6) + " \ud800"])[0][0][0] == "__label__en"


def test_models_load_once_per_process(models: dict[str, str]) -> None:
    assert load_model(models["lang"]) is load_model(models["lang"])
    first = create_tagger("ft_lang_id_en_doc_v2", {"model_path": models["lang"]})
    second = create_tagger("ft_lang_id_en_paragraph_v2", {"model_path": models["lang"]})
    assert first.model is second.model  # type: ignore[attr-defined]


def test_english_document_tagger(models: dict[str, str]) -> None:
    tagger = create_tagger("ft_lang_id_en_doc_v2", {"model_path": models["lang"]})
    en_text = words("en", 10).upper() + "\n" + words("en", 5, seed=3) + "\n"  # the tagger lowercases
    docs = [doc(en_text, "a"), doc(words("fr", 10), "b"), doc("", "c")]
    out = tagger.tag_batch(docs)
    assert set(out[0]) == {"en", "not_en"}
    (en,) = out[0]["en"]
    (not_en,) = out[0]["not_en"]
    assert (en.start, en.end) == (0, len(en_text)) and en.score > 0.9
    assert (not_en.start, not_en.end) == (0, len(en_text)) and not_en.score == pytest.approx(1.0 - en.score)
    assert out[1]["en"][0].score < 0.1 and out[1]["not_en"][0].score > 0.9
    # an empty document gets the prediction of the empty line, as in dolma
    en_empty = dict(FastTextModel(models["lang"]).predict([""])[0])["__label__en"]
    assert out[2] == {"en": [Span(0, 0, en_empty)], "not_en": [Span(0, 0, 1.0 - en_empty)]}
    assert tagger.tag_batch(docs) == out  # deterministic
    assert create_tagger("ft_lang_id_en_only_v2", {"model_path": models["lang"]}).tag_batch(docs[:1]) == [
        {"en": out[0]["en"]}
    ]


def test_english_paragraph_tagger_offsets(models: dict[str, str]) -> None:
    text = "alpha1 alpha2 alpha3\nbeta1 beta2 beta3 😀\n\n  \nalpha4 alpha5\n"
    assert len(text) == 59
    tagger = create_tagger("ft_lang_id_en_paragraph_v2", {"model_path": models["lang"]})
    (out,) = tagger.tag_batch([doc(text)])
    assert [(s.start, s.end) for s in out["en"]] == [(0, 21), (21, 41), (45, 59)]
    assert [(s.start, s.end) for s in out["not_en"]] == [(0, 21), (21, 41), (45, 59)]
    assert [s.score > 0.5 for s in out["en"]] == [True, False, True]
    for en, not_en in zip(out["en"], out["not_en"], strict=False):
        assert not_en.score == pytest.approx(1.0 - en.score)
    # a last paragraph without a trailing newline ends at the end of the text
    (out,) = tagger.tag_batch([doc("beta1 beta2\nalpha1 alpha2")])
    assert [(s.start, s.end) for s in out["en"]] == [(0, 12), (12, 25)]


def test_english_paragraph_tagger_with_document_score(models: dict[str, str]) -> None:
    tagger = create_tagger("ft_lang_id_en_paragraph_with_doc_score_v2", {"model_path": models["lang"]})
    text = "alpha1 alpha2 alpha3\nbeta1 beta2 beta3 😀\n"
    (out,) = tagger.tag_batch([doc(text)])
    expected = sum((s.end - s.start) * s.score for s in out["en"]) / len(text)
    assert out["doc_en"] == [Span(0, len(text), expected)]
    assert out["doc_not_en"] == [Span(0, len(text), 1.0 - expected)]
    assert 0.4 < expected < 0.6
    (empty,) = tagger.tag_batch([doc("")])
    assert empty == {"doc_en": [Span(0, 0, 0.0)], "doc_not_en": [Span(0, 0, 0.0)]}


def test_all_languages_taggers(models: dict[str, str]) -> None:
    text = words("fr", 10) + "\n" + words("en", 10) + "\n"
    (out,) = create_tagger("ft_lang_id_doc_v1", {"model_path": models["lang"]}).tag_batch([doc(text)])
    assert set(out) == {"en", "fr"}
    assert out["en"][0].score + out["fr"][0].score == pytest.approx(1.0, abs=1e-4)
    (out,) = create_tagger("ft_lang_id_paragraph_v1", {"model_path": models["lang"]}).tag_batch([doc(text)])
    assert [(s.start, s.end) for s in out["fr"]] == [(0, text.index("\n") + 1), (text.index("\n") + 1, len(text))]
    assert out["fr"][0].score > 0.9 and out["en"][1].score > 0.9
    (out,) = create_tagger("ft_lang_id_1e2", {"model_path": models["lang"]}).tag_batch([doc(words("en", 20))])
    assert list(out) == ["en"] and out["en"][0].score == round(out["en"][0].score, 2) > 0.9


@pytest.mark.parametrize("name", ["jigsaw_hatespeech_document_v2", "jigsaw_nsfw_document_v1"])
def test_jigsaw_document_taggers(models: dict[str, str], name: str) -> None:
    tagger = create_tagger(name, {"model_path": models["toxic"]})
    toxic, clean = words("toxic", 12), words("non_toxic", 12) + "\n"
    out = tagger.tag_batch([doc(toxic), doc(clean), doc("   ")])
    assert list(out[0]) == ["__label__toxic", "__label__non_toxic"]  # dolma's order: the positive label first
    assert out[0]["__label__toxic"][0] == Span(0, len(toxic), out[0]["__label__toxic"][0].score)
    assert out[0]["__label__toxic"][0].score > 0.9
    assert list(out[1]) == ["__label__toxic", "__label__non_toxic"]
    assert out[1]["__label__non_toxic"] == [Span(0, len(clean), out[1]["__label__non_toxic"][0].score)]
    assert out[1]["__label__non_toxic"][0].score > 0.9
    # a whitespace-only document is scored as the empty line, as in dolma
    empty = dict(FastTextModel(models["toxic"]).predict([""])[0])
    assert out[2] == {label: [Span(0, 3, empty[label])] for label in ("__label__toxic", "__label__non_toxic")}


@pytest.mark.parametrize("name", ["jigsaw_hatespeech_sentence_v2", "jigsaw_nsfw_sencence_v2"])
def test_jigsaw_sentence_taggers(models: dict[str, str], name: str) -> None:
    pytest.importorskip("blingfire")
    tagger = create_tagger(name, {"model_path": models["toxic"]})
    text = "Nasty1 nasty2 nasty3 😀. Kind1 kind2 kind3 kind4!\nNasty5 nasty6"
    (out,) = tagger.tag_batch([doc(text)])
    spans = [(s.start, s.end) for s in out["__label__toxic"]]
    assert [text[a:b] for a, b in spans] == ["Nasty1 nasty2 nasty3 😀.", "Kind1 kind2 kind3 kind4!", "Nasty5 nasty6"]
    assert [s.score > 0.5 for s in out["__label__toxic"]] == [True, False, True]


def test_dclm_quality_tagger(models: dict[str, str]) -> None:
    tagger = create_tagger("dclm-oh-eli5", {"model_path": models["quality"]})
    hq = words("hq", 15) + "\r\n" + words("hq", 5, seed=2)
    out = tagger.tag_batch([doc(hq), doc(words("cc", 15)), doc("")])
    assert list(out[0]) == ["score"] and len(out[0]["score"]) == 1
    assert (out[0]["score"][0].start, out[0]["score"][0].end) == (0, len(hq))
    assert out[0]["score"][0].score > 0.9  # p(hq)
    assert out[1]["score"][0].score < 0.1  # 1 - p(cc)
    ((label, prob),) = FastTextModel(models["quality"]).predict([""], k=1)[0]
    assert out[2] == {"score": [Span(0, 0, prob if label == "__label__hq" else 1.0 - prob)]}  # the empty line's
    with pytest.raises(ConfigError, match="__label__hq"):
        create_tagger("dclm-oh-eli5", {"model_path": models["lang"]})


def test_dolma17_quality_tagger(models: dict[str, str]) -> None:
    tagger = create_tagger("dolma17-quality", {"model_path": models["quality"]})
    text = "  " + words("cc", 10) + "\t\n "
    (out,) = tagger.tag_batch([doc(text)])
    assert list(out) == ["cc", "hq"]
    assert out["cc"][0] == Span(0, len(text), out["cc"][0].score) and out["cc"][0].score > 0.9


def test_generic_tagger(models: dict[str, str]) -> None:
    text = words("hq", 10) + "\n\n" + words("cc", 10)
    (out,) = create_tagger("fasttext", {"model_path": models["quality"]}).tag_batch([doc(text)])
    assert set(out) == {"hq", "cc"} and out["hq"][0] == Span(0, len(text), out["hq"][0].score)
    tagger = create_tagger(
        "fasttext", {"model_path": models["quality"], "level": "paragraph", "labels": ["__label__hq"]}
    )
    (out,) = tagger.tag_batch([doc(text)])
    cut = text.index("\n") + 1
    assert list(out) == ["hq"]
    assert [(s.start, s.end) for s in out["hq"]] == [(0, cut), (cut + 1, len(text))]
    assert out["hq"][0].score > 0.9 and out["hq"][1].score < 0.1
    with pytest.raises(ConfigError, match="not in the model"):
        create_tagger("fasttext", {"model_path": models["quality"], "labels": ["nope"]})
    with pytest.raises(ConfigError, match="level"):
        create_tagger("fasttext", {"model_path": models["quality"], "level": "page"})
    with pytest.raises(ConfigError, match="model_path"):
        create_tagger("fasttext", {})


def test_bad_model_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"not a model")
    with pytest.raises(DolmaError, match="bad.bin"):
        create_tagger("fasttext", {"model_path": str(path)})


def test_model_cache_local_paths(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    assert cached_model_path(str(path)) == str(path)
    with pytest.raises(ConfigError, match="missing.bin"):
        cached_model_path(str(tmp_path / "missing.bin"))
    with pytest.raises(ConfigError, match="does not exist"):
        create_tagger("ft_lang_id_en_doc_v2", {"model_path": str(tmp_path / "missing.bin")})


class _SlowCountingHandler(http.server.SimpleHTTPRequestHandler):
    """Records each GET and answers slowly, so that concurrent downloads would overlap."""

    def do_GET(self) -> None:
        self.server.gets.append(self.path)  # type: ignore[attr-defined]
        time.sleep(0.3)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A loopback HTTP server over a temporary directory; yields (base URL, directory, requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _SlowCountingHandler(*a, directory=str(root)))
    server.gets = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root, server.gets  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_model_cache_downloads_once_even_when_processes_race(
    http_root: tuple[str, Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root, gets = http_root
    cache = tmp_path / "cache"
    monkeypatch.setenv("DOLMA_PY_CACHE", str(cache))
    payload = bytes(range(256)) * 4096
    (root / "model.bin").write_bytes(payload)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        paths = pool.map(cached_model_path, [f"{base}/model.bin"] * 4, chunksize=1)
    assert len(set(paths)) == 1 and paths[0].startswith(str(cache))
    assert Path(paths[0]).read_bytes() == payload
    assert gets == ["/model.bin"]
    assert cached_model_path(f"{base}/model.bin") == paths[0] and gets == ["/model.bin"]
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]
    with pytest.raises(DolmaError, match="missing.bin"):
        cached_model_path(f"{base}/missing.bin")
    assert not [p for p in cache.iterdir() if p.name.endswith(".part") or p.name.endswith("missing.bin")]


def test_tagger_with_model_on_s3(
    s3_bucket: str, models: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dolma_py.io.storage import s3_client

    monkeypatch.setenv("DOLMA_PY_CACHE", str(tmp_path / "cache"))
    s3_client().upload_file(models["lang"], s3_bucket, "models/lang.bin")
    url = f"s3://{s3_bucket}/models/lang.bin"
    tagger = create_tagger("ft_lang_id_en_doc_v2", {"model_path": url})
    (out,) = tagger.tag_batch([doc(words("en", 10))])
    assert out["en"][0].score > 0.9
    local = cached_model_path(url)
    assert local.startswith(str(tmp_path / "cache")) and Path(local).read_bytes() == Path(models["lang"]).read_bytes()
    with pytest.raises(DolmaError, match="cannot download"):
        cached_model_path(f"s3://{s3_bucket}/models/missing.bin")

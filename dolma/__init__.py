"""The `dolma` import surface of dolma 1.2.1, on dolma_py: tagger modules written for dolma run under `dolma tag`.

`from dolma import add_tagger, BaseTagger` registers dolma-style taggers in dolma_py's registry;
`dolma.deduper(config)` and `dolma.mixer(config)` run dolma_py's dedupe and mix stages on dolma's config dicts.
Importing it loads no model, downloads nothing and does not import torch.
"""

from dolma.core import TaggerRegistry
from dolma.core.errors import DolmaRustPipelineError
from dolma.core.taggers import BaseTagger
from dolma.stages import deduper, mixer

__all__ = [
    "BaseTagger",
    "DolmaRustPipelineError",
    "TaggerRegistry",
    "add_tagger",
    "deduper",
    "mixer",
]

add_tagger = TaggerRegistry.add
"""Class decorator: `@add_tagger("name")` registers a tagger under `name`."""

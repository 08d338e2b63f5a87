"""`dolma warc`: WARC records to dolma documents (fastwarc framing and parsing, resiliparse or trafilatura text),
with pre-taggers over the HTML and post-taggers over the text, in dolma 1.2.1's output format."""

"""Fuzzy dedupe: MinHash-LSH in four resumable stages (signatures, buckets, cluster, output); see docs/dedupe.md."""

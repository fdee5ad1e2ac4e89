"""make bench: every benchmark, each printing our path beside its baselines and the ratios."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest
import bench_overlay

if __name__ == "__main__":
    bench_ingest.main([])
    bench_overlay.main(["--batches", "20000"])

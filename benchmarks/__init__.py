"""custodian's benchmarks: `python -m benchmarks` (see run.py)."""

from typing import Literal

# How big a run is, the same word for every part's `runner_rows(size)`:
# - "full": the default; the figures docs/performance.md quotes;
# - "quick" (`--quick`): smaller stores, fewer runs; minutes for every part;
# - "smoke" (`--smoke`): the smallest that still runs every step of a part, seconds each;
#   it proves a part works end to end (tests/bench runs it), its figures mean nothing.
Size = Literal["full", "quick", "smoke"]

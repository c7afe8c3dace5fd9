"""How a service's garbage collector runs once the service is up."""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000
"""Allocations between collections of the young generation (CPython's default: 700)."""


def settle_garbage_collector() -> None:
    """Collect what start-up left, freeze what survives it, then collect the young
    generation less often.

    Under load a service allocates short-lived objects by the hundred thousand a second
    (records, events, futures, documents). At CPython's defaults the young generation is
    collected every 700 allocations and every tenth of those collections also walks the
    middle one: in a bench burst, a threshold of 50,000 cut routing's and stats' CPU per
    complaint by about a quarter (docs/benchmarks.md). What start-up loaded (routing's
    word dictionary, the directory, compiled templates) lives as long as the process;
    frozen, no collection walks it again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 20, 100)

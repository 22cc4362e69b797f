"""Use cases: what happens without a click (see each module)."""

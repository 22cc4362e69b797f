"""How a step felt to the learner, and what staff learn from it per step."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

EASY, OK, HARD = "easy", "ok", "hard"
FEELINGS = (EASY, OK, HARD)
COMMENT_LIMIT = 500  # characters kept of the optional sentence
TOP_DIAGNOSES = 3


@dataclass(frozen=True)
class StepInsight:
    step_id: str
    answers: int  # learners who said how it felt
    hard: int
    median_minutes: float | None  # time between the previous step done and this one
    diagnoses: tuple[tuple[str, int], ...]  # most frequent first

    @property
    def hard_share(self) -> float | None:
        return self.hard / self.answers if self.answers else None


def step_insights(
    step_ids: Iterable[str],
    started: Mapping[int, datetime],
    completions: Mapping[int, Mapping[str, datetime]],
    feelings: Mapping[int, Mapping[str, str]],
    diagnoses: Mapping[str, Mapping[str, int]],
) -> tuple[StepInsight, ...]:
    """Per step: share of "hard", median time spent, most frequent diagnoses.

    ``started``: when each learner started (the first step's time counts from it).
    """
    ids = list(step_ids)
    insights = []
    for index, step_id in enumerate(ids):
        spent: list[float] = []
        for learner_id, done in completions.items():
            end = done.get(step_id)
            begin = done.get(ids[index - 1]) if index else started.get(learner_id)
            if end is not None and begin is not None and end >= begin:
                spent.append((end - begin).total_seconds() / 60)
        answers = [f[step_id] for f in feelings.values() if step_id in f]
        found = Counter(diagnoses.get(step_id, {}))
        insights.append(
            StepInsight(
                step_id,
                len(answers),
                sum(1 for a in answers if a == HARD),
                statistics.median(spent) if spent else None,
                tuple(found.most_common(TOP_DIAGNOSES)),
            )
        )
    return tuple(insights)

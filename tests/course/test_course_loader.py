"""Loading the course: the default one in both modes, and a staff-written one refused with
the file, the line and the problem whenever something in it is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.course.checks import CHECKS
from bot.course.course import DEFAULT_COURSE, load_course
from bot.course.glossary import load_glossary
from bot.course.text import LANGUAGES
from bot.errors import CourseError

DEFAULT_STEPS = ("link", "fork", "branch", "commit", "pull_request")

# A small but complete course, written the way staff write one (flow mappings keep it short).
HEADER = """\
id: tiny
title: {en: "A tiny course", fr: "Un petit parcours"}
welcome: {en: "Hello! We practise on {upstream}.", fr: "Bonjour ! On s'entraîne sur {upstream}."}
finish: {en: "Well done, {login}.", fr: "Bravo, {login}."}
steps:
"""
LINK_STEP = """\
  - id: link
    check: github_account
    minutes: 2
    title: {en: "Link your account", fr: "Reliez votre compte"}
    summary: {en: "Send me your login.", fr: "Envoyez-moi votre identifiant."}
    how:
      web: {en: "Type it here.", fr: "Écrivez-le ici."}
    success: {en: "Found {login}.", fr: "J'ai trouvé {login}."}
    stuck: {en: "A mentor is told.", fr: "Un·e mentor est prévenu·e."}
    hints:
      login_malformed: {en: "{given} is not a login.", fr: "{given} n'est pas un identifiant."}
      login_too_long: {en: "{given} is too long.", fr: "{given} est trop long."}
      account_not_found: {en: "No account {given}.", fr: "Aucun compte {given}."}
      account_is_organization: {en: "{given} is a team.", fr: "{given} est une équipe."}
      login_is_email: {en: "{given} is an email.", fr: "{given} est un e-mail."}
      login_looks_like_name: {en: "{given} is a name.", fr: "{given} est un nom."}
"""
FORK_STEP = """\
  - id: fork
    check: fork_exists
    minutes: 4
    terms: [fork]
    title: {en: "Make your fork", fr: "Faites votre fork"}
    summary:
      en: "Fork {upstream} from <{fork_new_url}|this page>."
      fr: "Forkez {upstream} depuis <{fork_new_url}|cette page>."
    how:
      web: {en: "Click Fork.", fr: "Cliquez sur Fork."}
      cli: {en: "Use gh repo fork.", fr: "Utilisez gh repo fork."}
    success: {en: "Your fork {fork} is ready.", fr: "Votre fork {fork} est prêt."}
    stuck: {en: "Ask a mentor.", fr: "Demandez à un·e mentor."}
    hints:
      no_fork: {en: "No fork of {upstream} yet.", fr: "Pas encore de fork de {upstream}."}
      fork_under_organization: {en: "It is under {org}.", fr: "Il est sous {org}."}
      repo_not_a_fork: {en: "{found_repo} is not a fork.", fr: "{found_repo} n'est pas un fork."}
      fork_of_other_repo: {en: "It forks {other_parent}.", fr: "Il copie {other_parent}."}
      fork_deleted: {en: "{gone_fork} is gone.", fr: "{gone_fork} a disparu."}
"""
MERGED_STEP = """\
  - id: merged
    check: pull_request_merged
    optional: true
    title: {en: "Merged", fr: "Fusionnée"}
    summary: {en: "Wait for a review.", fr: "Attendez une relecture."}
    how:
      web: {en: "Nothing to do.", fr: "Rien à faire."}
    success: {en: "Merged!", fr: "Fusionnée !"}
    stuck: {en: "Ask a mentor.", fr: "Demandez à un·e mentor."}
    hints:
      awaiting_review: {en: "Waiting for {reviewers}.", fr: "En attente de {reviewers}."}
      pr_conflicts: {en: "Conflicts.", fr: "Des conflits."}
      pr_closed_unmerged: {en: "Closed.", fr: "Fermée."}
"""
TINY = HEADER + LINK_STEP + FORK_STEP + MERGED_STEP


def write(tmp_path: Path, text: str, name: str = "course.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) >= occurrence, f"{needle!r} is not in the course"
    return found[occurrence - 1]


def replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must appear exactly once"
    return text.replace(old, new)


def refused(path: Path, **options: object) -> CourseError:
    with pytest.raises(CourseError) as caught:
        load_course(path, **options)  # type: ignore[arg-type]
    return caught.value


# -- the default course ----------------------------------------------------------------------


def test_default_course_without_the_merge_step() -> None:
    course = load_course(DEFAULT_COURSE, glossary_terms=load_glossary().ids)
    assert tuple(s.id for s in course.steps) == DEFAULT_STEPS
    assert course.first.check == "github_account"
    assert course.next_after("pull_request") is None
    assert not course.has_step("merged")
    # The step stays known, for learners recorded at it while the merge was required.
    assert course.step("merged").optional


def test_default_course_with_the_merge_step() -> None:
    course = load_course(DEFAULT_COURSE, include_optional=True, glossary_terms=load_glossary().ids)
    assert tuple(s.id for s in course.steps) == (*DEFAULT_STEPS, "merged")
    assert course.next_after("pull_request") == course.step("merged")
    assert course.step_with_check("pull_request_merged") == course.step("merged")
    assert course.minutes_left("merged") == course.step("merged").minutes
    assert course.minutes_left("link") == sum(s.minutes for s in course.steps)


def test_default_course_speaks_both_languages_and_hints_every_diagnosis() -> None:
    course = load_course(DEFAULT_COURSE, include_optional=True)
    for step in course.steps:
        assert set(step.hints) == CHECKS[step.check], step.id
        texts = [step.title, step.summary, step.success, step.stuck, *step.hints.values()]
        texts += list(step.how.values())
        for text in texts:
            assert set(text.by_language) == set(LANGUAGES)
            assert all(text(language).strip() for language in LANGUAGES), step.id


def test_the_tiny_course_used_below_is_valid(tmp_path: Path) -> None:
    course = load_course(write(tmp_path, TINY), glossary_terms=load_glossary().ids)
    assert [s.id for s in course.steps] == ["link", "fork"]
    assert [s.id for s in course.all_steps] == ["link", "fork", "merged"]
    assert load_course(write(tmp_path, TINY), include_optional=True).steps[-1].id == "merged"
    fork = course.step("fork")
    assert fork.minutes == 4 and fork.terms == ("fork",)
    assert fork.summary("fr", {"upstream": "eig/practice"}).startswith("Forkez eig/practice")


# -- a staff-written course with a mistake ---------------------------------------------------

Mutation = Callable[[str], str]


def _extra_hint(text: str) -> str:
    extra = '      no_branch: {en: "No branch.", fr: "Pas de branche."}\n'
    # The fork step's hints end just before the next step.
    return replace(text, "  - id: merged\n", extra + "  - id: merged\n")


# (what goes wrong, how the course is changed, text on the line named, words of the problem)
MISTAKES: list[tuple[str, Mutation, str, str]] = [
    (
        "unknown check name",
        lambda t: replace(t, "check: fork_exists", "check: fork_exist"),
        "- id: fork",
        "step 'fork': unknown check 'fork_exist' (known checks: branch_exists,",
    ),
    (
        "missing French translation",
        lambda t: replace(t, ', fr: "Faites votre fork"}', "}"),
        'title: {en: "Make your fork"}',
        "step 'fork'.title: the 'fr' translation is missing",
    ),
    (
        "empty French translation of a hint",
        lambda t: replace(t, 'fr: "Il copie {other_parent}."', 'fr: "  "'),
        "fork_of_other_repo:",
        "step 'fork'.hints.fork_of_other_repo: the 'fr' translation is missing",
    ),
    (
        "missing hint for a diagnosis code",
        lambda t: replace(
            t,
            '      repo_not_a_fork: {en: "{found_repo} is not a fork.", '
            'fr: "{found_repo} n\'est pas un fork."}\n',
            "",
        ),
        "no_fork:",
        "step 'fork': no hint for repo_not_a_fork",
    ),
    (
        "hint for a code the check never reports",
        _extra_hint,
        "no_fork:",
        "step 'fork': the check 'fork_exists' never reports no_branch",
    ),
    (
        "unknown placeholder",
        lambda t: replace(t, "Fork {upstream} from", "Fork {upstream_link} from"),
        "Fork {upstream_link} from",
        "step 'fork'.summary: unknown placeholder {upstream_link}",
    ),
    (
        "placeholder of another diagnosis",
        lambda t: replace(t, '"No fork of {upstream} yet."', '"No fork under {org} yet."'),
        "No fork under {org} yet.",
        "step 'fork'.hints.no_fork: unknown placeholder {org}",
    ),
    (
        "malformed placeholder",
        lambda t: replace(t, '"Found {login}."', '"Found {login."'),
        "Found {login.",
        "step 'link'.success: malformed placeholder",
    ),
    (
        "unknown way of working",
        lambda t: replace(t, "      cli: {en:", "      terminal: {en:"),
        'web: {en: "Click Fork."',
        "step 'fork'.how: unknown way of working ['terminal']",
    ),
    (
        "malformed YAML",
        lambda t: replace(t, "    minutes: 4\n", "    minutes: 4: 5\n"),
        "minutes: 4: 5",
        "is not valid YAML: mapping values are not allowed here",
    ),
    (
        "tab in the indentation",
        lambda t: replace(t, "    check: fork_exists\n", "\tcheck: fork_exists\n"),
        "\tcheck: fork_exists",
        "is not valid YAML",
    ),
    (
        "first step is not github_account",
        lambda t: HEADER + FORK_STEP + LINK_STEP,
        "- id: fork",
        "the first step must use the check 'github_account'",
    ),
    (
        "minutes that are not a number",
        lambda t: replace(t, "    minutes: 4\n", "    minutes: four\n"),
        "- id: fork",
        "step 'fork': 'minutes' must be a whole number",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "line_text", "problem"),
    [pytest.param(m, line, problem, id=name) for name, m, line, problem in MISTAKES],
)
def test_a_mistake_is_named_with_file_and_line(
    tmp_path: Path, mutate: Mutation, line_text: str, problem: str
) -> None:
    text = mutate(TINY)
    path = write(tmp_path, text)
    error = refused(path)
    expected_line = line_of(text, line_text)
    assert error.path == str(path)
    assert error.line == expected_line, str(error)
    assert str(error).startswith(f"{path}, line {expected_line}: ")
    assert problem in str(error)


def test_a_duplicate_step_id_is_named_with_a_line_holding_it(tmp_path: Path) -> None:
    text = HEADER + LINK_STEP + FORK_STEP + FORK_STEP
    path = write(tmp_path, text)
    error = refused(path)
    assert "step id 'fork' is used twice" in str(error)
    assert error.line in (line_of(text, "- id: fork", 1), line_of(text, "- id: fork", 2))
    assert str(error).startswith(f"{path}, line {error.line}: ")


def test_a_term_missing_from_the_glossary_is_named(tmp_path: Path) -> None:
    text = replace(TINY, "terms: [fork]", "terms: [fork, forkk]")
    error = refused(write(tmp_path, text), glossary_terms=load_glossary().ids)
    assert error.line == line_of(text, "- id: fork")
    assert "step 'fork': terms not in the glossary: ['forkk']" in str(error)


def test_a_course_of_optional_steps_only_is_refused(tmp_path: Path) -> None:
    text = replace(
        TINY, "    check: github_account\n", "    check: github_account\n    optional: true\n"
    )
    text = replace(text, "    check: fork_exists\n", "    check: fork_exists\n    optional: true\n")
    error = refused(write(tmp_path, text))
    assert error.line == 1 and "at least one step must not be optional" in str(error)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "course.yaml"
    path.write_bytes(TINY.encode("latin-1"))
    error = refused(path)
    assert str(path) in str(error)
    assert "is not UTF-8 text" in str(error)


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "course.yaml"
    path.write_bytes(TINY.encode("latin-1"))
    first_non_ascii = next(n for n, line in enumerate(TINY.splitlines(), 1) if not line.isascii())
    assert refused(path).line == first_non_ascii


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "course.yaml"
    error = refused(path)
    assert error.line is None
    assert str(error) == f"{path}: cannot be read (No such file or directory)"

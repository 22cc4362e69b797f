"""Use cases: what happens without a click, through the domain's ports only.

A GitHub delivery or a background look → which learners → the coach → a notification
(:mod:`.progress`, :mod:`.reviews`); sign-ins polled on GitHub (:mod:`.sign_ins`); the digest
and reminders (:mod:`.digest`); invitations, purge and retention (:mod:`.staff`). Nothing here
imports Slack, GitHub or storage code (``tests/test_layers.py``): the transport is a
``Notifier``, GitHub a ``Prober`` or ``StepChecker``, storage the store ports
(:mod:`bot.course.ports`), all wired by :mod:`bot.serving`.
"""

"""The course and a learner's progress through it: plain Python, no Slack, no GitHub.

Slack, the console and GitHub plug into this package through the protocols in
:mod:`bot.course.ports`; nothing here imports ``slack_bolt`` or ``github``.
"""

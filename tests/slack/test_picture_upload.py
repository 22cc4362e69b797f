"""The picture reaches Slack the way Slack shows images in a DM: an uploaded PNG (files
upload v2) in the learner's DM, with its text alternative, after "Show me how"."""

from __future__ import annotations

from tests.rig.conversation import Conversation
from tests.rig.fake_github import FakeGitHub
from tests.rig.fake_slack import FakeSlack, dm_channel_id
from tests.rig.slack_sender import SlackSender


def test_show_me_how_posts_the_learners_picture_in_their_dm(
    slack: SlackSender, fake_slack: FakeSlack, fake_github: FakeGitHub, french_user_id: str
) -> None:
    helene = Conversation(slack, fake_slack, french_user_id)
    login = f"pic-{french_user_id.lower()}"
    fake_github.world.add_user(login)
    helene.links(login)
    mark = len(fake_slack.calls)
    how = helene.says("Montrez-moi comment")
    assert "Comment faire sur le site de GitHub" in how.text
    asked = fake_slack.wait_for(
        lambda c: (
            c.method == "files.getUploadURLExternal" and login in str(c.params.get("alt_txt"))
        ),
        after=mark,
    )
    alt = asked.params["alt_txt"]
    assert alt.startswith("Schéma. Où vous en êtes — Hélène Dupré.")
    assert "Votre copie (fork) : pas encore créé, à faire." in alt
    done = fake_slack.wait_for(
        lambda c: (
            c.method == "files.completeUploadExternal"
            and c.params.get("channel_id") == dm_channel_id(french_user_id)
        ),
        after=mark,
    )
    assert done.params["files"][0]["title"].startswith("Où vous en êtes")
    upload = next(u for u in fake_slack.uploads if u.file_id == done.params["files"][0]["id"])
    assert upload.content is not None and upload.content.startswith(b"\x89PNG")
    assert upload.filename.endswith(".png")

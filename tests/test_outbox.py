"""The outbox insert: one row per dedup key, whatever the backend."""

from models import OutboxMessage, db, write_transaction
from program.messaging.outbox import enqueue
from tests.factories import gen_user


def test_enqueue_inserts_once_and_says_so(app):
    user = gen_user("participant")
    with write_transaction():
        first = enqueue("release:1:1", user.id, "release", "Session 1", "It is open.")
    with write_transaction():
        second = enqueue("release:1:1", user.id, "release", "Session 1", "It is open.")
    assert (first, second) == (True, False)
    assert db.session.query(OutboxMessage).count() == 1

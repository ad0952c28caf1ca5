"""The hand-over window: how much mail a relay may have unacknowledged on one link."""

from __future__ import annotations

import pytest

from amity.protocol.errors import UsageError
from amity.protocol.handover import HAND_OVER_PAGE, HAND_OVER_WINDOW, HandOverWindow


def test_the_window_fills_and_each_ack_makes_room() -> None:
    window = HandOverWindow()
    assert window.room == HAND_OVER_WINDOW and window.page() == HAND_OVER_PAGE
    for mail_id in range(1, HAND_OVER_WINDOW + 1):
        window.sent(mail_id)
    assert window.room == 0 and window.page() == 0
    assert window.after_id == HAND_OVER_WINDOW
    assert window.acked([1, 2, 999]) == 2  # 999 was never sent on this link
    assert window.room == 2 and window.page() == 2
    assert window.acked([1]) == 0  # acknowledged twice: no more room


def test_mail_goes_out_oldest_first_once() -> None:
    window = HandOverWindow(4)
    window.sent(5)
    with pytest.raises(UsageError):
        window.sent(5)
    with pytest.raises(UsageError):
        window.sent(3)
    with pytest.raises(UsageError):
        HandOverWindow(0)

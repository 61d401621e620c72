"""Send messages through the Grid and collect the replies that arrive before a deadline.

Like `Grid.send_and_receive`, but keyed (node name or node id in, the same key out) and polling
every POLL_SECONDS rather than every 3 s, since a round's pace is set by its slowest reply. A
message whose reply does not come in time is simply absent from the result; its late reply, if
any, is never pulled. `give_up`, called every GIVE_UP_EVERY seconds, names keys not worth waiting
for any more (e.g. a node whose SuperNode restarted: its old self will never answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

from flwr.app import Message
from flwr.serverapp import Grid

POLL_SECONDS = 0.5
GIVE_UP_EVERY = 2.0
Key = TypeVar("Key", bound=Hashable)


def exchange(
    grid: Grid,
    messages: Mapping[Key, Message],
    timeout: float,
    give_up: Callable[[], Iterable[Key]] | None = None,
) -> dict[Key, Message]:
    """{key: reply} for the messages answered within `timeout` seconds (an error reply counts)."""
    keys = list(messages)
    pushed = list(grid.push_messages([messages[key] for key in keys])) if keys else []
    waiting = {message_id: key for message_id, key in zip(pushed, keys, strict=True) if message_id}
    replies: dict[Key, Message] = {}
    start = time.monotonic()
    checked = start
    while waiting:
        for reply in grid.pull_messages(list(waiting)):
            key = waiting.pop(reply.metadata.reply_to_message_id, None)
            if key is not None:
                replies[key] = reply
        now = time.monotonic()
        if give_up is not None and waiting and now - checked >= GIVE_UP_EVERY:
            checked = now
            hopeless = set(give_up())
            waiting = {message_id: key for message_id, key in waiting.items() if key not in hopeless}
        if not waiting or now - start >= timeout:
            break
        time.sleep(POLL_SECONDS)
    return replies

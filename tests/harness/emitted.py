"""
What a body protocol hands its C{emit}, kept for a test to read.
"""

from codex_relay._core.request.translate import translateRequest
from codex_relay._core.stream.translator import StreamTranslator
from codex_relay._web.ids import newId, now
from tests.harness.eventsize import REQUEST, SETTINGS


def translator(request: dict = REQUEST) -> StreamTranslator:
    return StreamTranslator(request, translateRequest(request, SETTINGS), SETTINGS,
                            ids=newId, clock=now)


class Emitted:
    """
    An C{emit} callable that keeps the batches, or raises C{error} once.
    """

    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[list[dict]] = []
        self.error = error

    def __call__(self, events: list[dict]) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.batches.append(events)

    @property
    def types(self) -> list[str]:
        return [event["type"] for batch in self.batches for event in batch]

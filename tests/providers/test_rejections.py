"""
Strip and retry's pieces, sans-IO: which names may be stripped, and the
memory of what each upstream and model rejected.
"""

from twisted.trial.unittest import SynchronousTestCase

from codex_relay._providers.rejections import STRUCTURAL, RejectionMemory, withoutParameter


class WithoutParameterTests(SynchronousTestCase):
    def body(self) -> dict:
        return {"model": "m", "stream": True, "top_p": 1, "messages": [
            {"role": "user", "content": "hi", "name": "me"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "ok"}],
            "tools": [{"type": "function", "function": {"name": "f", "strict": True}}],
            "tool_choice": "auto"}

    def test_structuralNeverStripped(self) -> None:
        """
        A 400 naming a structural field is about its value: stripping it
        would change the request for every later one too.
        """
        for name in STRUCTURAL:
            body = self.body()
            self.assertFalse(withoutParameter(body, name), name)
            self.assertEqual(body, self.body(), name)

    def test_optionalStripped(self) -> None:
        body = self.body()
        self.assertTrue(withoutParameter(body, "strict"))
        self.assertNotIn("strict", body["tools"][0]["function"])
        self.assertTrue(withoutParameter(body, "top_p"))
        self.assertNotIn("top_p", body)


class RejectionMemoryTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.now = 1000.0
        self.memory = RejectionMemory(lambda: self.now, seconds=60, size=3)

    def test_learnedPerUpstreamAndModel(self) -> None:
        self.memory.learn("u", "m", "top_p")
        self.memory.learn("u", "m", "seed")
        self.assertEqual(set(self.memory.rejected("u", "m")), {"top_p", "seed"})
        self.assertEqual(self.memory.rejected("u", "other"), ())
        self.assertEqual(self.memory.rejected("v", "m"), ())

    def test_expires(self) -> None:
        """
        An upstream may learn the parameter in a later release: what was
        learned is tried again after a while.
        """
        self.memory.learn("u", "m", "top_p")
        self.now += 59
        self.assertEqual(self.memory.rejected("u", "m"), ("top_p",))
        self.now += 1
        self.assertEqual(self.memory.rejected("u", "m"), ())
        self.assertEqual(len(self.memory), 0)

    def test_bounded(self) -> None:
        """
        Endless model names cannot grow it: the least recently used pair
        is forgotten.
        """
        for index in range(1000):
            self.memory.learn("u", "model-{}".format(index), "top_p")
        self.assertEqual(len(self.memory), 3)
        self.assertEqual(self.memory.rejected("u", "model-999"), ("top_p",))
        self.assertEqual(self.memory.rejected("u", "model-0"), ())

    def test_useKeepsRecent(self) -> None:
        for name in ("a", "b", "c"):
            self.memory.learn("u", name, "top_p")
        self.memory.rejected("u", "a")
        self.memory.learn("u", "d", "top_p")
        self.assertEqual(self.memory.rejected("u", "a"), ("top_p",))
        self.assertEqual(self.memory.rejected("u", "b"), ())

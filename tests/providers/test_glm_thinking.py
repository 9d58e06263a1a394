"""
GLM's C{thinking} parameter through the real relay: on by default, and off
for a route that switches the healer off.
"""

from tests.harness.vendorstreams import GLM
from tests.harness.relaycase import RelayCase, raw, request


GLM_ROUTES = """
[upstreams.zai]
base_url = "UPSTREAM_URL"
profile = "glm"

[[routes]]
model = "glm-4.5-air"
upstream = "zai"
heal = { glm_thinking = false }
"""


class HealerTests(RelayCase):
    """
    GLM keeps its reasoning to itself under a long agent prompt unless the
    request says C{thinking: {"type": "enabled"}}.
    """

    async def test_glmThinkingByDefault(self) -> None:
        """
        The glm profile asks for thinking; the stream's reasoning arrives.
        """
        relay = await self.relay(lambda body, received: raw(GLM), "glm")
        _, response = await relay.stream(request("glm-4.6"))
        self.assertEqual(response["output"][0]["type"], "reasoning")
        [sent] = relay.chat
        self.assertEqual(sent["thinking"], {"type": "enabled"})

    async def test_glmThinkingOffForRoute(self) -> None:
        """
        A route with C{heal = {glm_thinking = false}} sends no C{thinking};
        other models of the same upstream still do.
        """
        relay = await self.relay(lambda body, received: raw(GLM), None, routes=GLM_ROUTES)
        for model in ("glm-4.5-air", "glm-4.6"):
            _, response = await relay.stream(request(model))
            self.assertEqual(response["status"], "completed")
        off, on = relay.chat
        self.assertEqual((off["model"], on["model"]), ("glm-4.5-air", "glm-4.6"))
        self.assertNotIn("thinking", off)
        self.assertEqual(on["thinking"], {"type": "enabled"})

"""
The settings, request and sizes shared by the tests of the SSE event size
limit: the body protocols in memory and the relay on loopback.
"""

from codex_relay import TranslationSettings

SETTINGS = TranslationSettings(secret=b"faults")
REQUEST = {"model": "model-a", "input": "hi", "stream": True}
READ = 64 * 1024
ENDLESS = 50 * 1024 * 1024

"""
Translation settings: the choices the sans-IO core makes, as one frozen value.
"""

from dataclasses import dataclass

# The field the core carries reasoning in; adaptRequest renames it for the upstream.
NEUTRAL_REASONING = "reasoning_content"

REASONING_SUMMARY = "summary"
REASONING_RAW = "raw"


@dataclass(frozen=True, slots=True)
class TranslationSettings:
    """
    @ivar reasoningPresentation: C{"summary"} streams provider reasoning as
        summary text (Codex shows it); C{"raw"} as C{reasoning_text}.
    @ivar lengthAsCompleted: report C{finish_reason: length} as a completed
        response whose last item is marked incomplete, instead of
        C{response.incomplete}.
    @ivar contentFilterAsFailed: report C{finish_reason: content_filter} as
        C{response.failed} with the non-retryable code C{invalid_prompt};
        otherwise as C{response.incomplete} with reason C{content_filter}.
    @ivar developerRole: the Chat role C{developer} messages become.
    @ivar reasoningField: the assistant-message field that carries reasoning
        back upstream; L{None}: the profile's.
    @ivar maxTokensField: the Chat parameter C{max_output_tokens} becomes;
        L{None}: the profile's.  Both are applied by C{adaptRequest}, the
        one place a request meets its upstream's profile.
    @ivar secret: the key that signs reasoning carried in C{encrypted_content}.
    @ivar origin: the upstream a request goes to (its base URL), sealed with
        the reasoning it answers with: provider-specific reasoning data
        (signed C{reasoning_details}) never goes back to another upstream.
    """

    reasoningPresentation: str = REASONING_SUMMARY
    lengthAsCompleted: bool = False
    contentFilterAsFailed: bool = True
    developerRole: str = "system"
    reasoningField: str | None = None
    maxTokensField: str | None = None
    secret: bytes = b""
    origin: str = ""

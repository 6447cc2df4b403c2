"""Every golden conversation under tests/conversations, through the real NLU model and a real database."""

from __future__ import annotations

import pytest

from crmbot.wiring import Runtime
from tests.dialogs.harness import Conversation, all_conversations, make_config, run_conversation

CASES = [
    pytest.param(conversation, backend, id=f"{conversation.path.stem}:{conversation.name}:{backend}")
    for conversation in all_conversations()
    for backend in conversation.backends
]


@pytest.mark.parametrize(("conversation", "backend"), CASES)
def test_golden_conversation(conversation: Conversation, backend: str, demo_runtime_for, nlu_parser) -> None:
    runtime: Runtime = demo_runtime_for(backend)
    runtime.config = make_config(runtime.config, conversation.config)
    run_conversation(conversation, runtime, nlu_parser)

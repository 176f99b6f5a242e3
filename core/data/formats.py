"""Names of the dataset formats the wizard knows, shared by detection, conversion and validation.

TRL's four formats (sft-facts §2) plus the shapes users commonly bring.
"""

from __future__ import annotations

TEXT = "text"
MESSAGES = "messages"
PROMPT_COMPLETION = "prompt_completion"
CONVERSATIONAL_PROMPT_COMPLETION = "conversational_prompt_completion"
SHAREGPT = "sharegpt"
ALPACA = "alpaca"
OPENAI_CHAT = "openai_chat"
PREFERENCE = "preference"
RAW_COLUMNS = "raw_columns"
UNKNOWN = "unknown"

TRL_FORMATS = (TEXT, MESSAGES, PROMPT_COMPLETION, CONVERSATIONAL_PROMPT_COMPLETION)
CONVERSATIONAL_FORMATS = (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION)
FORMAT_LABELS = {
    TEXT: "plain text (TRL language modeling)",
    MESSAGES: "conversations (TRL conversational 'messages')",
    PROMPT_COMPLETION: "prompt-completion (TRL standard)",
    CONVERSATIONAL_PROMPT_COMPLETION: "conversational prompt-completion (TRL)",
    SHAREGPT: "ShareGPT conversations (from/value)",
    ALPACA: "Alpaca instructions (instruction/input/output)",
    OPENAI_CHAT: "OpenAI chat fine-tuning format",
    PREFERENCE: "preference pairs (a chosen and a rejected answer)",
    RAW_COLUMNS: "your own columns (need a mapping)",
    UNKNOWN: "not recognised",
}

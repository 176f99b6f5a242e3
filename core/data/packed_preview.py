"""Show the first blocks the trainer trains on when documents are packed: TRL's own tokenizing, then its packing.

With ``packing=True`` TRL 1.16's ``SFTTrainer._prepare_dataset`` tokenizes each document (adding the
end-of-text token), skips truncation, keeps ``input_ids`` and ``labels`` and calls ``trl.pack_dataset`` with
the packing strategy (sft_trainer.py, "Pack"). Here the same two steps run: ``prepare_like_trainer`` without a
max length, then ``pack_dataset`` with core/trl_args.py's strategy, so the blocks shown are the trainer's first
blocks (the documents are not shuffled before packing; tests/test_documents.py compares with a real trainer).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.data.preview import Check, RenderedRow, prepare_like_trainer, token_segments

# Characters of text to tokenize per block shown: ~4 characters make a token in English text, so twice that is
# enough to fill the blocks (a shorter text simply makes fewer blocks).
CHARS_PER_TOKEN_BOUND = 8


def first_documents(rows: Sequence[dict], characters: int) -> list[dict]:
    """The first rows holding at least ``characters`` characters of text in all (all of them if they hold less).

    >>> first_documents([{"text": "abc"}, {"text": "de"}, {"text": "f"}], 4)
    [{'text': 'abc'}, {'text': 'de'}]
    """
    chosen, total = [], 0
    for row in rows:
        if total >= characters:
            break
        chosen.append(row)
        total += len(row["text"])
    return chosen


def render_packed_preview(rows: Sequence[dict], tokenizer, block_size: int, *, n: int = 2) -> list[RenderedRow]:
    """The first ``n`` blocks of ``block_size`` tokens the trainer will train on, each with its checks.

    ``RenderedRow.row`` is the block's number (1-based), not a row of the user's data.
    """
    from datasets.utils.logging import disable_progress_bar, enable_progress_bar, is_progress_bar_enabled
    from trl.data_utils import pack_dataset

    from core.trl_args import PACKING_STRATEGY

    chosen = first_documents(rows, n * block_size * CHARS_PER_TOKEN_BOUND)
    prepared = prepare_like_trainer(chosen, tokenizer, max_length=None)  # TRL does not truncate when packing
    bars = is_progress_bar_enabled()
    disable_progress_bar()
    try:
        blocks = pack_dataset(prepared.select_columns(["input_ids", "labels"]), block_size, PACKING_STRATEGY)
    finally:
        if bars:
            enable_progress_bar()
    eos_id, eos = tokenizer.eos_token_id, tokenizer.eos_token
    result = []
    for number in range(min(n, len(blocks))):
        ids, labels = list(blocks[number]["input_ids"]), list(blocks[number]["labels"])
        rendered = RenderedRow(number + 1, ids, labels, token_segments(tokenizer, ids, labels))
        ends = ids.count(eos_id)
        trained = rendered.n_loss_tokens == len(ids)
        rendered.checks = [
            Check(
                trained,
                "ok" if trained else "error",
                f"{rendered.n_loss_tokens:,} of {len(ids):,} tokens carry loss; {ends:,} document end"
                f"{'s' if ends != 1 else ''} ({eos!r}) in this block.",
            )
        ]
        result.append(rendered)
    return result

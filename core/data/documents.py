"""Documents of plain text, trained as language modelling: packed into blocks of tokens, every token trained.

What counts as documents: rows read from a ``.txt``/``.md`` file (core/data/readers/text_files.py), or rows
whose only column is the text (``text``, or ``content``/``document``, renamed to TRL's ``text`` when loaded).
TRL 1.16 trains them with ``packing=True`` and ``packing_strategy="wrapped"`` (core/trl_args.py): each
document gets the end-of-text token, the documents are joined and cut into blocks of ``max_length`` tokens,
and every token carries loss (there is no prompt to mask). Nothing is truncated or dropped; a block can start
in the middle of a document. This is the Training Hub hyperparameter guide's "pretraining mode" with its
``block_size`` (https://ai-innovation.team/training_hub/#/); ``recommend_block_size`` picks one from the
measured document lengths.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.data.loaded import LoadedData
from core.data.readers.text_files import BLOCKS, TEXT_SPLITS, WHOLE_FILE, documents_from_text
from core.data.stats import LengthStats

TEXT_COLUMN = "text"  # what TRL's SFTTrainer reads (SFTConfig.dataset_text_field)
OTHER_DOCUMENT_COLUMNS = ("content", "document")  # "document" is the Training Hub guide's default column name
# Training Hub's SFT page, pretraining mode: block_size 2048 is the suggested start, 512 for short or numerous
# documents (core/sources.py, "training_hub_sft").
BLOCK_SIZE_START = 2048
BLOCK_SIZE_SHORT = 512
# Below this many full blocks of 2048 the text is "short" as a whole: one or two blocks would be every step's batch.
MIN_BLOCKS = 4
# TRL packs with datasets' batched map (trl/data_utils.py pack_dataset), 1,000 documents per batch by default:
# each batch ends in a block of its own, shorter than the rest.
PACKING_BATCH = 1000


def single_text_column(rows: Sequence[dict]) -> str | None:
    """The one column every row has, when it is a document column holding text; else None.

    >>> single_text_column([{"document": "A long text."}, {"document": "Another."}])
    'document'
    >>> single_text_column([{"text": "a", "id": 1}]) is None
    True
    """
    if not rows or not isinstance(rows[0], dict) or len(rows[0]) != 1:
        return None
    column = next(iter(rows[0]))
    if column not in (TEXT_COLUMN, *OTHER_DOCUMENT_COLUMNS):
        return None
    if all(isinstance(row, dict) and len(row) == 1 and isinstance(row.get(column), str) for row in rows):
        return column
    return None


def as_text_documents(rows: list[dict], name: str) -> tuple[list[dict], str]:
    """Rows of one ``content``/``document`` column renamed to TRL's ``text``, and the warning that says so.

    Rows of anything else come back as they are, with no warning.

    >>> as_text_documents([{"content": "Chapter one."}], "book.jsonl")[0]
    [{'text': 'Chapter one.'}]
    """
    column = single_text_column(rows)
    if column is None or column == TEXT_COLUMN:
        return rows, ""
    renamed = [{TEXT_COLUMN: row[column]} for row in rows]
    return renamed, f"{name}: every row holds only '{column}': read as documents of plain text (TRL's 'text')."


def is_documents(loaded: LoadedData) -> bool:
    """Whether these rows are documents to pack: read from plain text, or a single ``text`` column."""
    return bool(loaded.text_split) or list(loaded.columns) == [TEXT_COLUMN]


def resplit_documents(loaded: LoadedData, split: str) -> LoadedData:
    """The same plain-text file cut into documents another way (``"blocks"`` or ``"file"``).

    From one whole-file document the blocks are exact, line numbers included; from blocks, the file is them
    joined by a blank line (the file's own runs of blank lines are not kept, and neither are line numbers).
    """
    if split not in TEXT_SPLITS:
        raise ValueError(f"unknown split {split!r}")
    if not loaded.text_split or split == loaded.text_split:
        return loaded
    texts = [row[TEXT_COLUMN] for row in loaded.rows]
    rows, lines = documents_from_text("\n\n".join(texts), split)
    exact = loaded.text_split == WHOLE_FILE and split == BLOCKS
    return LoadedData(
        rows=rows,
        source=loaded.source,
        columns=[TEXT_COLUMN],
        warnings=list(loaded.warnings),
        line_numbers=lines if exact else None,
        text_split=split,
    )


def describe_documents(loaded: LoadedData) -> str:
    """One sentence on how the rows were read as documents, for the Data step.

    >>> describe_documents(LoadedData([{"text": "a"}, {"text": "b"}], "notes.txt", ["text"], text_split="blocks"))
    'Plain text: 2 documents, one document per blank-line-separated block.'
    """
    count = f"{loaded.n_rows:,} document" + ("s" if loaded.n_rows != 1 else "")
    if loaded.text_split:
        return f"Plain text: {count}, {TEXT_SPLITS[loaded.text_split]}."
    return f"Plain text: {count}, one per row."


def recommend_block_size(
    stats: LengthStats, total_tokens: int, model_max_length: int | None = None
) -> tuple[int, str]:
    """The block size (``max_length`` with packing) for documents of these token lengths, and why.

    The Training Hub guide's 2048 to start; 512 when most documents are short (blocks of 2048 would join four
    or more unrelated ones) or when all the text together fills fewer than ``MIN_BLOCKS`` blocks of 2048.
    Never above the longest input the model accepts.

    >>> recommend_block_size(LengthStats(40, 300, 900, 1000, 1200, 350.0), 14_000)[0]
    512
    >>> recommend_block_size(LengthStats(40, 3000, 9000, 9900, 12000, 3500.0), 140_000)[0]
    2048
    """
    if stats.n == 0:
        return BLOCK_SIZE_START, "No document was measured; 2048 is the Training Hub guide's suggested start."
    if stats.p50 <= BLOCK_SIZE_SHORT:
        choice = BLOCK_SIZE_SHORT
        reason = (
            f"Most documents are short (the median one has {stats.p50:,} tokens): the Training Hub guide suggests "
            f"512 for short documents; blocks of 2048 would join four or more unrelated ones"
        )
    elif total_tokens < MIN_BLOCKS * BLOCK_SIZE_START:
        choice = BLOCK_SIZE_SHORT
        blocks = -(-total_tokens // BLOCK_SIZE_START)
        reason = (
            f"All the text is {total_tokens:,} tokens: blocks of 2048 would make only {blocks:,}, so every step "
            "would train on the same few; the Training Hub guide's 512 makes more"
        )
    else:
        choice = BLOCK_SIZE_START
        reason = (
            f"The median document has {stats.p50:,} tokens, more than 512: the Training Hub guide's suggested "
            "start, 2048, keeps more of each document in one block"
        )
    if model_max_length and choice > model_max_length:
        choice = model_max_length
        reason += f"; capped at {model_max_length:,}, the longest input the model accepts"
    return choice, reason + "."


def count_blocks(lengths: Sequence[int], block_size: int, batch: int = PACKING_BATCH) -> int:
    """How many blocks TRL's wrapped packing makes from documents of these token lengths (in order).

    >>> count_blocks([300, 300, 300], 512)
    2
    >>> count_blocks([300] * 3, 512, batch=2)  # a block never spans two packing batches
    3
    """
    return sum(-(-sum(lengths[i : i + batch]) // block_size) for i in range(0, len(lengths), batch))


def packing_summary(lengths: Sequence[int], block_size: int) -> str:
    """What packing does with these documents, in a sentence: tokens, blocks, nothing cut.

    >>> packing_summary([300, 300, 300], 512)
    '3 documents, 900 tokens in all (each with its end-of-text token), make 2 blocks of up to 512 tokens. Nothing is cut off or dropped; a block can start in the middle of a document.'
    """  # noqa: E501
    total = sum(lengths)
    documents = f"{len(lengths):,} document" + ("s" if len(lengths) != 1 else "")
    blocks = count_blocks(lengths, block_size)
    return (
        f"{documents}, {total:,} tokens in all (each with its end-of-text token), make {blocks:,} block"
        f"{'s' if blocks != 1 else ''} of up to {block_size:,} tokens. Nothing is cut off or dropped; a block can "
        "start in the middle of a document."
    )


def plain_text_loss(block_size: int | None) -> str:
    """The sentence the Data step shows about loss for documents.

    >>> plain_text_loss(512)
    'Plain text: every token is trained (no prompt/answer), documents are joined and cut into blocks of 512 tokens.'
    """
    blocks = f"blocks of {block_size:,} tokens" if block_size else "blocks of the max length"
    return f"Plain text: every token is trained (no prompt/answer), documents are joined and cut into {blocks}."

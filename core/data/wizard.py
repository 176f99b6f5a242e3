"""The data wizard's steps in order, as plain functions: from loaded rows to the folder the trainer reads.

``draft_dataset`` (detect, map, convert, check every row's structure: instant)
-> ``check_dataset`` (with the model's tokenizer: chat template, token lengths,
recommended max length, truncation) -> ``split_dataset`` -> ``write_dataset``.
The Data step of the app calls exactly these, so everything it shows can be
reproduced from a script.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.data.convert import Conversion, RowChoices, convert_rows, recommend_target_format
from core.data.detect import Detection, detect_format
from core.data.documents import is_documents, packing_summary, recommend_block_size
from core.data.errors import DataError
from core.data.export import write_training_folder
from core.data.formats import (
    CONVERSATIONAL_PROMPT_COMPLETION,
    MESSAGES,
    OPENAI_CHAT,
    PREFERENCE,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
    TRL_FORMATS,
    UNKNOWN,
)
from core.data.labels import LabelRule, find_label_rule
from core.data.loaded import LoadedData
from core.data.reasoning import carry_thinking_flags, reasoning_notes
from core.data.report import ERROR, PROBLEM_KINDS, ValidationReport
from core.data.split import DEFAULT_VALIDATION_FRACTION, Split, split_train_validation
from core.data.stats import (
    LengthStats,
    TokenLengths,
    length_stats,
    measure_lengths,
    recommend_from_lengths,
    truncation_summary,
)
from core.data.to_trl import ColumnMapping
from core.data.tool_templates import hermes_text_row, needs_tool_template, rows_for_template
from core.data.validate import validate_rows

_CONVERSATION_SOURCES = (MESSAGES, SHAREGPT, OPENAI_CHAT, CONVERSATIONAL_PROMPT_COMPLETION, PREFERENCE)


def target_choices(source_format: str) -> list[str]:
    """The TRL formats rows of ``source_format`` can be converted to.

    >>> target_choices("text")
    ['text']
    >>> target_choices("sharegpt")
    ['messages', 'conversational_prompt_completion']
    """
    if source_format == TEXT:
        return [TEXT]
    if source_format in _CONVERSATION_SOURCES:
        return [MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION]  # plain text would lose the chat template
    return list(TRL_FORMATS)


@dataclass(eq=False)
class DataDraft:
    """Loaded rows, how they are read (format, mapping) and converted, and the structural check of every row.

    Never changed once made (a new choice makes a new draft), so sharing it is safe: ``gr.State``
    deep-copies its value on every event (sft-facts §7), which would otherwise copy every row each time.
    """

    name: str
    """Short name for folders and messages (demo name, file stem, Hub id)."""
    loaded: LoadedData
    detection: Detection
    mapping: ColumnMapping | None
    """The column mapping in use (raw columns only)."""
    target_format: str
    recommended_format: str
    recommendation_reason: str
    conversion: Conversion | None
    """None while raw columns have no mapping yet."""
    report: ValidationReport | None
    """Structure of every row (no tokenizer yet); None while there is no conversion."""
    validation_rows: list[dict] | None = None
    """The validation split the data came with, converted the same way; its broken rows left out."""
    validation_note: str = ""
    read_as: str = ""
    """The format the rows are converted from: the detected one, or raw columns when the person mapped columns."""
    label_rule: LabelRule | None = None
    """A column that marks rows good or bad, when there is one (core/data/labels.py)."""
    choices: RowChoices = field(default_factory=RowChoices)
    """What the person chose: train only rows marked good, drop images (core/data/convert.py)."""

    def __deepcopy__(self, memo: dict) -> DataDraft:
        return self

    @property
    def source_format(self) -> str:
        return self.read_as or self.detection.format

    @property
    def needs_mapping(self) -> bool:
        return self.source_format == RAW_COLUMNS

    @property
    def packed(self) -> bool:
        """Documents of plain text, trained packed into blocks of ``max_length`` tokens (core/data/documents.py)."""
        return self.target_format == TEXT and is_documents(self.loaded)


def draft_dataset(
    loaded: LoadedData,
    name: str,
    mapping: ColumnMapping | None = None,
    target_format: str | None = None,
    *,
    train_every_row: bool = False,
    drop_media: bool = False,
) -> DataDraft:
    """Detect the format, pick (or take) a mapping and a target format, convert, and check every row's structure.

    A ``mapping`` given for rows of a detected format reads them as raw columns instead (the person's choice
    wins). ``train_every_row`` trains rows a label marks bad too; ``drop_media`` trains rows that bring images
    on their text alone. Raises DataError when there is nothing trainable in the rows, or the mapping or
    target can't be used.
    """
    detection = detect_format(loaded.rows)
    if detection.format == UNKNOWN:
        raise DataError(f"{loaded.source}: {detection.explanation} Pick a file of JSON objects, one per example.")
    source = RAW_COLUMNS if mapping is not None else detection.format
    if source == RAW_COLUMNS:
        mapping = mapping or detection.suggested_mapping
    recommended, reason = recommend_target_format(source, loaded.rows)
    target = target_format or recommended
    if target not in target_choices(source):
        raise DataError(
            f"Rows in this format can't be trained as '{target}'. Pick one of: {', '.join(target_choices(source))}."
        )
    rule = None
    if source not in (TEXT, PREFERENCE):  # a text's label is a class, not a verdict; pairs are judged already
        rule = find_label_rule(loaded.rows, loaded.columns, mapping.columns() if mapping else ())
    choices = RowChoices(label_rule=None if train_every_row else rule, drop_media=drop_media)
    conversion = report = None
    validation_rows, note = None, ""
    if mapping is not None or source != RAW_COLUMNS:
        conversion = convert_rows(loaded.rows, source, target, mapping, loaded.columns, choices)
        if target in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
            conversion.rows = carry_thinking_flags(loaded.rows, conversion.rows)
        report = validate_rows(
            conversion.rows,
            target,
            failures=conversion.failures,
            failure_codes=conversion.failure_codes,
            line_numbers=loaded.line_numbers,
        )
        if loaded.validation_rows:
            validation_rows, note = _convert_validation(loaded.validation_rows, source, target, mapping, choices)
    return DataDraft(
        name=name,
        loaded=loaded,
        detection=detection,
        mapping=mapping,
        target_format=target,
        recommended_format=recommended,
        recommendation_reason=reason,
        conversion=conversion,
        report=report,
        validation_rows=validation_rows,
        validation_note=note,
        read_as=source,
        label_rule=rule,
        choices=choices,
    )


def _convert_validation(
    rows, source: str, target: str, mapping: ColumnMapping | None, choices: RowChoices
) -> tuple[list[dict], str]:
    conversion = convert_rows(rows, source, target, mapping, choices=choices)
    if target in (MESSAGES, CONVERSATIONAL_PROMPT_COMPLETION):
        conversion.rows = carry_thinking_flags(rows, conversion.rows)
    report = validate_rows(
        conversion.rows, target, failures=conversion.failures, failure_codes=conversion.failure_codes
    )
    kept = report.trained_rows(conversion.rows)
    note = f"The data came with a validation split of {len(rows):,} rows"
    if report.n_left_out:
        note += f"; {report.n_left_out:,} of them can't be used and are left out"
    return kept, note + "."


@dataclass(eq=False)
class DataCheck:
    """A draft checked with the model's tokenizer: the full report, token lengths and the max length to train with."""

    draft: DataDraft
    model_id: str | None
    """The model whose tokenizer measured the rows; None when no tokenizer could be used."""
    report: ValidationReport
    max_length: int
    """The max length the report and the truncation figures are for."""
    lengths: TokenLengths | None = None
    stats: LengthStats | None = None
    recommended_max_length: int | None = None
    recommendation_reason: str = ""
    truncation_message: str = ""
    problem: str = ""
    """Why the tokenizer checks were not run, when they were not (e.g. the model can't be loaded offline)."""
    length_outliers: list[int] = field(default_factory=list)
    """0-based rows far longer than the rest, left out of the recommendation (``stats.find_length_outliers``)."""
    rows: list[dict | None] | None = None
    """The converted rows as this model's template gets them, when they differ from the draft's (tools as text)."""
    tools_note: str = ""
    """Why the rows differ: the template can't render tools, so they are written as text (core/data/tool_templates)."""

    def __deepcopy__(self, memo: dict) -> DataCheck:
        return self

    def trained_rows(self) -> list[dict]:
        """The converted rows that will be trained, in order."""
        return self.report.trained_rows(self.rows if self.rows is not None else self.draft.conversion.rows)

    def trained_row_numbers(self) -> list[int]:
        """The user's 1-based row number of each trained row."""
        return [i + 1 for i in self.report.trained]


def check_dataset(
    draft: DataDraft,
    tokenizer=None,
    *,
    model_id: str | None = None,
    max_length: int | None = None,
    model_max_length: int | None = None,
    lengths: TokenLengths | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> DataCheck:
    """Check every row with the model's tokenizer and measure it; ``max_length=None`` uses the recommendation.

    ``lengths`` from an earlier check of the same draft (and tokenizer) skips the tokenizing, so changing
    only the max length is instant. Without a tokenizer the structural report is kept as it is.
    ``checkpoint`` is called between batches of rows and raises to stop the check (the Data step passes
    ``WorkTicket.raise_if_stopped``, core/data/heavy_work.py).
    """
    if draft.conversion is None or draft.report is None:
        raise DataError("Pick the prompt and answer columns first: these rows need a column mapping.")
    if tokenizer is None:
        return DataCheck(draft, None, draft.report, max_length or 1024)
    # Tools the template can't render become text here, so the lengths, the report, the preview and the written
    # rows are all of the text that is trained.
    rows, tools_note = rows_for_template(draft.conversion.rows, tokenizer, (model_id or "This model").split("/")[-1])
    if lengths is None:
        structurally_fine = set(draft.report.trained)
        lengths = measure_lengths(
            [row if i in structurally_fine else None for i, row in enumerate(rows)],
            draft.target_format,
            tokenizer,
            checkpoint=checkpoint,
        )
    stats = length_stats(lengths)
    outliers = []
    if draft.packed:  # the max length is the block size: documents are packed, never cut
        recommended, reason = recommend_block_size(stats, sum(lengths.measured()), model_max_length)
    else:
        recommended, reason, outliers = recommend_from_lengths(lengths, model_max_length)
    chosen = max_length or recommended
    report = validate_rows(
        rows,
        draft.target_format,
        failures=draft.conversion.failures,
        failure_codes=draft.conversion.failure_codes,
        tokenizer=tokenizer,
        max_length=None if draft.packed else chosen,
        line_numbers=draft.loaded.line_numbers,
        lengths=lengths,
        checkpoint=checkpoint,
    )
    trained = set(report.trained)
    report.notes += reasoning_notes([r if i in trained else None for i, r in enumerate(rows)], tokenizer.chat_template)
    return DataCheck(
        draft,
        model_id,
        report,
        chosen,
        lengths,
        stats,
        recommended,
        reason,
        packing_summary(lengths.measured(), chosen) if draft.packed else truncation_summary(lengths, chosen).message,
        length_outliers=outliers,
        rows=rows if tools_note else None,
        tools_note=tools_note,
    )


def unusable_reason(draft: DataDraft, check: DataCheck | None) -> str:
    """Why ``draft`` can't be used for training yet (``check``: the latest tokenizer check), or "" when it can."""
    if draft.conversion is None:
        return "Pick the prompt and answer columns first (step 3): these rows have their own columns."
    if check is None or check.draft is not draft:
        return "Checking rows… Use this dataset works once the training text is shown in step 6."
    if not check.report.n_trained:
        errors = check.report.rows_with(ERROR).most_common()
        reasons = ", ".join(f"{PROBLEM_KINDS[code][0]} ({n:,} rows)" for code, n in errors) or "see step 4"
        return f"No row can be trained: {reasons}. Fix the rows (step 4 lists them) and load the file again."
    return ""


def split_dataset(
    check: DataCheck,
    fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 42,
    use_provided_validation: bool = True,
) -> Split:
    """Training and validation rows from the rows that will be trained (or the validation split that came along)."""
    provided = check.draft.validation_rows if use_provided_validation else None
    if provided and check.tools_note:  # written as text like the training rows (see check_dataset)
        provided = [hermes_text_row(row) if needs_tool_template(row) else row for row in provided]
    return split_train_validation(check.trained_rows(), fraction, seed, provided)


def new_dataset_folder(root: str | Path, name: str) -> Path:
    """A fresh folder under ``root`` (a person's datasets folder) for one use of a dataset; never one reused.

    >>> import tempfile
    >>> new_dataset_folder(tempfile.mkdtemp(), "My data.jsonl").name.startswith("my-data-jsonl-")
    True
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "dataset"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{slug}-{stamp}-{secrets.token_hex(3)}"


def write_dataset(split: Split, folder: str | Path) -> Path:
    """Write the split as ``train.jsonl`` (+ ``test.jsonl``): the folder ``RunConfig.dataset`` takes."""
    return write_training_folder(split.train, split.validation, folder)


_tokenizers: dict[str, object] = {}
_tokenizer_lock = threading.Lock()


def cached_tokenizer(model_id: str, load: Callable[[str], object] | None = None):
    """The tokenizer of ``model_id``, loaded once per process (loading takes seconds; checking a row takes less).

    Callers must not change it: ``prepare_like_trainer`` works on a copy.
    """
    with _tokenizer_lock:
        if model_id not in _tokenizers:
            if load is None:
                from core.data.preview import load_tokenizer as load
            _tokenizers[model_id] = load(model_id)
        return _tokenizers[model_id]

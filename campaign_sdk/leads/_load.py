"""Turning user input (DataFrame, CSV / Parquet path, CampaignLeadUser list) into stored leads.

The input is read in chunks; each chunk is validated column-wise (``_rows.prepare``, several
chunks at a time in threads) and its good rows go to ``service._leads.LeadStage``, which deduplicates
them (in memory up to its buffer size, in a staging table beyond) and upserts them with a few
set-based statements. Memory holds a few chunks, the stage's bounded buffer and the rejected rows,
whatever the input size, and everything runs in the caller's transaction, so a load commits whole
or not at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session
from tqdm.auto import tqdm

from campaign_sdk._exceptions import LeadValidationError
from campaign_sdk.leads._dialect import InputFormat
from campaign_sdk.leads._input import LeadInput, Source, open_source
from campaign_sdk.leads._report import (
    DUPLICATE_COLUMNS,
    MISSING_COLUMNS,
    OPTED_OUT_COLUMNS,
    REJECTED_COLUMNS,
    ZONE_COLUMNS,
    LeadLoadReport,
    empty_rejections,
)
from campaign_sdk.leads._rows import Plan, prepare
from campaign_sdk.models import Campaign
from campaign_sdk.phones import check_region
from campaign_sdk.schemas import compile_variables
from campaign_sdk.service import content_of
from campaign_sdk.service._leads import LeadStage, StageResult

CHUNK_SIZE = 200_000
WORKERS = 4  # chunks validated at once in threads (Arrow / RE2 kernels release the GIL)
PROGRESS_ROWS = 50_000  # show a progress bar (when progress=None) from this many rows ...
PROGRESS_BYTES = 4 << 20  # ... or a file this large


def template_variables(campaign: Campaign) -> list[str]:
    """The variables the campaign's template needs from every lead."""
    return list(compile_variables(content_of(campaign)).mapping)



def load_leads(
    session: Session,
    campaign: Campaign,
    data: LeadInput,
    *,
    phone_column: str = "phone_number",
    user_id_column: str | None = None,
    default_region: str | None = None,
    variables: Sequence[str] | None = None,
    strict: bool = False,
    progress: bool | None = None,
    chunk_size: int = CHUNK_SIZE,
    encoding: str | None = None,
) -> LeadLoadReport:
    """Validate every row, collapse duplicates (last row wins), and upsert the leads.

    Runs inside the caller's transaction: the caller commits, or rolls back on any error.
    ``progress``: True / False forces the progress bar on / off; None shows it for large inputs.
    ``encoding``: a CSV file's text encoding (UTF-8 with or without BOM when not given).
    """
    if chunk_size < 1:
        raise LeadValidationError(f"chunk_size must be a positive number of rows, not {chunk_size!r}")
    source = open_source(data, encoding=encoding)
    if source.user_list and user_id_column is None:
        user_id_column = "conversation_user_id"
    plan = _plan(source, phone_column, user_id_column, variables, template_variables(campaign),
                 check_region(default_region), strict)
    wanted = [c for c in (plan.phone_column, plan.user_id_column) if c] + list(plan.variables)
    stage = LeadStage(session, campaign)
    rejected: list[pd.DataFrame] = []
    zones: list[pd.DataFrame] = []
    total = 0
    with _bar(source, progress, campaign.name) as bar:
        for staged, bad, odd_zones in _prepared(source, list(dict.fromkeys(wanted)), chunk_size, plan):
            total += staged.num_rows + len(bad)
            stage.append(staged)
            if len(bad):
                rejected.append(bad)
            if len(odd_zones):
                zones.append(odd_zones)
            bar.update(staged.num_rows + len(bad))
        bar.set_postfix_str("storing")
        done = stage.finish()
    return _report(campaign.name, total, plan, rejected, done, source.input_format, zones)


Prepared = tuple[pa.Table, pd.DataFrame, pd.DataFrame]


def _prepared(source: Source, columns: list[str], chunk_size: int, plan: Plan) -> Iterator[Prepared]:
    """Each chunk of the input, validated, in input order: the rows to stage, the rejected rows
    and the kept rows whose ``timezone`` names no IANA zone.

    Up to ``WORKERS`` chunks are validated at once in threads while the caller handles the
    previous one. If the caller stops (an error, Ctrl-C), the chunks in flight are dropped.
    """
    offset = 0
    pending: deque[Future[Prepared]] = deque()
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="campaign_sdk-leads") as pool:
        try:
            for chunk in source.chunks(columns, chunk_size):
                pending.append(pool.submit(prepare, chunk, offset, plan))
                offset += len(chunk[columns[0]])
                if len(pending) >= WORKERS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _plan(
    source: Source, phone_column: str, user_id_column: str | None, variables: Sequence[str] | None,
    needed: list[str], region: str | None, strict: bool,
) -> Plan:
    identity = [c for c in (phone_column, user_id_column) if c is not None]
    if not any(c in source.columns for c in identity):
        raise LeadValidationError(
            f"the input has no {' or '.join(repr(c) for c in identity)} column; its columns are "
            f"{source.columns}. Pass phone_column= (or user_id_column=) naming the right one"
            + (f" (read as {source.input_format})" if source.input_format.kind == "csv" else "")
        )
    if variables is not None:
        variables = [str(v) for v in variables]
        unknown = [v for v in variables if v not in source.columns]
        if unknown:
            raise LeadValidationError(f"variables {unknown} are not columns of the input {source.columns}")
        chosen = list(dict.fromkeys(variables))
    else:
        chosen = [c for c in source.columns if c not in identity]
    if len(needed) > 62:
        raise LeadValidationError(f"the template uses {len(needed)} variables; at most 62 are supported")
    return Plan(
        phone_column=phone_column if phone_column in source.columns else None,
        user_id_column=user_id_column if user_id_column in source.columns else None,
        variables=tuple(chosen), needed=tuple(needed), region=region, strict=strict,
    )


def _bar(source: Source, progress: bool | None, name: str) -> Any:
    show = progress if progress is not None else (
        (source.rows or 0) >= PROGRESS_ROWS or source.size >= PROGRESS_BYTES
    )
    if not show:
        return nullcontext(_Silent())
    return tqdm(total=source.rows, unit=" rows", desc=f"Loading leads into {name}", leave=True)


class _Silent:
    def update(self, _n: int) -> None:
        pass

    def set_postfix_str(self, _text: str) -> None:
        pass


def _report(
    name: str, total: int, plan: Plan, rejected: list[pd.DataFrame], done: StageResult, input_format: InputFormat,
    zones: list[pd.DataFrame],
) -> LeadLoadReport:
    if done.unknown_users:
        rows, ids = zip(*done.unknown_users)
        rejected.append(pd.DataFrame({
            "row": list(rows), "column": plan.user_id_column or "conversation_user_id",
            "value": pd.Series([str(i) for i in ids], dtype=object), "reason": "unknown_user",
            "message": "no conversation user has this id; add the lead by phone number instead",
        }))
    if rejected:
        frame = pd.concat(rejected, ignore_index=True)[REJECTED_COLUMNS]
        rejections = frame.sort_values("row", kind="stable").reset_index(drop=True)
    else:
        rejections = empty_rejections()
    unknown = {row for row, _ in done.unknown_users}  # rejected rows are not kept leads
    # rows not kept as leads: a later row of that person won, or the person opted out
    superseded = unknown | {row for row, *_ in done.duplicates} | {row for row, _ in done.opted_out}
    odd_zones = pd.concat(zones, ignore_index=True) if zones else pd.DataFrame(columns=ZONE_COLUMNS)
    return LeadLoadReport(
        campaign=name, total_rows=total, inserted=done.inserted, updated=done.updated,
        unchanged=done.unchanged, duplicates=len(done.duplicates), skipped_opted_out=done.skipped_opted_out,
        rejected=rejections,
        missing_variables=pd.DataFrame(
            [(row, phone, [v for k, v in enumerate(plan.needed) if mask >> k & 1])
             for row, phone, mask in done.missing if row not in unknown],
            columns=MISSING_COLUMNS,
        ),
        duplicate_rows=pd.DataFrame(done.duplicates, columns=DUPLICATE_COLUMNS),
        opted_out_rows=pd.DataFrame(done.opted_out, columns=OPTED_OUT_COLUMNS),
        invalid_timezones=odd_zones[~odd_zones["row"].isin(superseded)].reset_index(drop=True),
        input_format=input_format,
    )

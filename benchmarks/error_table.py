"""The markdown table the end-effector-error benchmarks share: one row per variant, one column per
episode folder, mean error in mm to 0.1 (bench_idm_degradation,
bench_plan_error_source). Imported by those scripts, which run with benchmarks/ on the path."""
from __future__ import annotations

import datetime
from pathlib import Path


def utc_stamp() -> str:
    return f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC'


def table_lines(row_header: str, rows: dict[str, dict[str, float]]) -> list[str]:
    """{row label: {column: value}} -> markdown lines; the columns are the first row's, in its order."""
    columns = list(next(iter(rows.values())))
    lines = [f'| {row_header} | ' + ' | '.join(columns) + ' |', '|---|' + '---|' * len(columns)]
    lines += [f'| {label} | ' + ' | '.join(f'{row[c]:.1f}' for c in columns) + ' |' for label, row in rows.items()]
    return lines


def write_lines(path: str | Path, lines: list[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines) + '\n')

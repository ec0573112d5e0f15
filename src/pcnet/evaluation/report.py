"""Reports of benchmark results: fixed-width text tables of summary rows."""

from __future__ import annotations

from typing import Any

__all__ = ["TABLE_COLUMNS", "format_table"]

TABLE_COLUMNS = ("method", "n_segments", "n_superpixels", "br", "bp", "asa", "ue", "co", "seconds_per_image")


def format_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """Fixed-width text table of summary rows."""

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    body = [[cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(lines)

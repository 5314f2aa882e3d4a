"""The interactive report page (``rlviz report``): precomputed maps as atlas PNGs, one
``data.js`` and a small static page that opens from ``file://``."""

from rlviz.present.report.build import ReportResult, make_report

__all__ = ["ReportResult", "make_report"]

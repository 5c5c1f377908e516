"""A report as an A4 PDF drawn by ReportLab: the headline figures, a pie of land use, a
bar chart of buildings by floors, a line of permits per month (ReportLab's own charts),
and the tables of the report. Text is set in DejaVu Sans (Debian's fonts-dejavu-core,
installed by scripts/install_system.sh), which has every Vietnamese glyph."""
from __future__ import annotations

import io
import threading
from pathlib import Path

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gisdb.errors import ConfigurationError

from .report_tables import report_sections
from .tables import Section

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
PALETTE = ("#e06666", "#f6b26b", "#ffd966", "#93c47d", "#76a5af", "#6fa8dc", "#8e7cc3", "#c27ba0",
           "#999999", "#b45f06")
CHART_W, CHART_H = 170 * mm, 62 * mm
MAX_TABLE_ROWS = 40
_fonts = threading.Lock()


def _register_fonts() -> None:
    """Register DejaVu Sans (regular and bold) once per process."""
    with _fonts:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        for name, file in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
            path = FONT_DIR / file
            if not path.is_file():
                raise ConfigurationError(f"{path} is missing: install Debian's fonts-dejavu-core")
            pdfmetrics.registerFont(TTFont(name, str(path)))


def _styles() -> dict[str, ParagraphStyle]:
    return {"title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=4),
            "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=8,
                                 spaceAfter=4),
            "body": ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11)}


def _chart_title(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, CHART_H - 10, text, fontName=FONT_BOLD, fontSize=9))


def land_use_pie(report: dict) -> Drawing:
    """Land use by area, as a pie with a legend of codes and shares."""
    d = Drawing(CHART_W, CHART_H)
    _chart_title(d, "Cơ cấu sử dụng đất / Land use (m²)")
    rows = report["land_use"][:len(PALETTE)] or [{"land_use": "-", "area_m2": 1, "share": 0}]
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 10, 8, CHART_H - 30, CHART_H - 30
    pie.data = [max(r["area_m2"], 0.001) for r in rows]
    for n, _ in enumerate(rows):
        pie.slices[n].fillColor = colors.HexColor(PALETTE[n])
        pie.slices[n].strokeColor = colors.white
    d.add(pie)
    for n, r in enumerate(rows):
        y = CHART_H - 26 - n * 10
        d.add(String(CHART_H, y, f"■ {r['land_use']}  {r.get('label_vi', '')}  {100 * r['share']:.1f}%",
                     fontName=FONT, fontSize=7.5, fillColor=colors.HexColor(PALETTE[n])))
    return d


def floors_bars(report: dict) -> Drawing:
    """Buildings by number of floors, as bars."""
    d = Drawing(CHART_W, CHART_H)
    _chart_title(d, "Công trình theo số tầng / Buildings by floors")
    rows = report["buildings"]["floors"] or [{"floors": 0, "count": 0}]
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 30, 18, CHART_W - 40, CHART_H - 36
    bars.data = [[r["count"] for r in rows]]
    bars.categoryAxis.categoryNames = ["?" if r["floors"] is None else str(r["floors"]) for r in rows]
    bars.categoryAxis.labels.fontName = bars.valueAxis.labels.fontName = FONT
    bars.categoryAxis.labels.fontSize = bars.valueAxis.labels.fontSize = 6.5
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor("#6fa8dc")
    d.add(bars)
    return d


def permits_line(report: dict) -> Drawing:
    """Permits issued per month, as a line (a month label every year)."""
    d = Drawing(CHART_W, CHART_H)
    _chart_title(d, "Giấy phép xây dựng theo tháng / Permits per month")
    rows = report["permits_per_month"] or [{"month": "-", "count": 0}]
    line = HorizontalLineChart()
    line.x, line.y, line.width, line.height = 30, 18, CHART_W - 40, CHART_H - 36
    line.data = [[r["count"] for r in rows]]
    step = max(1, len(rows) // 12)
    line.categoryAxis.categoryNames = [r["month"] if n % step == 0 else "" for n, r in enumerate(rows)]
    line.categoryAxis.labels.fontName = line.valueAxis.labels.fontName = FONT
    line.categoryAxis.labels.fontSize = line.valueAxis.labels.fontSize = 6
    line.categoryAxis.visibleTicks = 0
    line.categoryAxis.labels.angle = 30
    line.categoryAxis.labels.boxAnchor = "ne"
    line.valueAxis.valueMin = 0
    line.lines[0].strokeColor = colors.HexColor("#cc0000")
    d.add(line)
    return d


def _table(section: Section, style: ParagraphStyle) -> list:
    """A section as a PDF table (at most MAX_TABLE_ROWS rows; the rest is counted)."""
    cells = [[Paragraph(str(h), style) for h in section.header]]
    for row in section.rows[:MAX_TABLE_ROWS]:
        cells.append([Paragraph("" if v is None else str(v), style) for v in row])
    table = Table(cells, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = [table]
    if len(section.rows) > MAX_TABLE_ROWS:
        out.append(Paragraph(f"… {len(section.rows) - MAX_TABLE_ROWS} more rows (CSV/XLSX)", style))
    return out


def report_pdf(report: dict) -> bytes:
    """The report as PDF bytes (A4 portrait)."""
    _register_fonts()
    s = _styles()
    unit = report["unit"]
    story: list = [Paragraph(f"Báo cáo {unit['name']}", s["title"]),
                   Paragraph(f"Report: {unit['name_en'] or unit['name']} · mã / code {unit['code']} · "
                             f"{report['generated_at']}", s["body"]), Spacer(1, 4 * mm)]
    sections = report_sections(report)
    story += _table(sections[0], s["body"])
    story += [Spacer(1, 4 * mm), land_use_pie(report), floors_bars(report), permits_line(report)]
    for section in sections[1:]:
        if section.key in ("permits", "height"):
            continue                          # drawn above as charts; in the CSV/XLSX in full
        story.append(Paragraph(f"{section.title_vi} / {section.title_en}", s["h2"]))
        story += _table(section, s["body"]) if section.rows else [Paragraph("—", s["body"])]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"Báo cáo {unit['name']}", author="Da Nang urban GIS")
    doc.build(story)
    return out.getvalue()

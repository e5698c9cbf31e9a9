"""``flask catalog template`` and ``flask catalog import``: files written, plan, problems, exit codes."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.catalog.models import ImportJob, Product, ProductStatus
from marketplace.extensions import db
from tests.factories import make_company

HEADER = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价"]


@pytest.fixture
def english(app):
    """Command output in English (outside a request the default locale applies)."""
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


@pytest.fixture
def uscc(app) -> str:
    with app.app_context():
        return make_company(name_zh="宁波美厨电器有限公司").uscc


def write_csv(path, rows, header=HEADER):
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def products(app) -> dict[str, Product]:
    with app.app_context():
        found = {p.sku: p for p in db.session.scalars(sa.select(Product))}
        db.session.expunge_all()
        return found


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_is_written_and_imports_back(app, runner, uscc, tmp_path, lang, fmt):
    target = tmp_path / f"template.{fmt}"
    result = runner.invoke(args=["catalog", "template", "--lang", lang, "--format", fmt, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.output
    data = target.read_bytes()
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
        header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    else:
        header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[0] == ("货号*" if lang == "zh" else "SKU*")
    result = runner.invoke(args=["catalog", "import", str(target), "--company", uscc])
    assert result.exit_code == 0, result.output + result.stderr
    product = products(app)["RC-3018"]
    assert product.title_zh == "智能电饭煲 3L 预约定时" and product.hs_code == "851660"


def test_template_default_name_and_stdout(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(args=["catalog", "template"]).exit_code == 0
    assert (tmp_path / "catalog-template-zh.xlsx").read_bytes()[:2] == b"PK"
    result = runner.invoke(args=["catalog", "template", "--format", "csv", "--lang", "en", "-o", "-"])
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbfSKU*,")


def test_import_creates_products_and_prints_the_plan(app, runner, uscc, tmp_path, english):
    path = write_csv(tmp_path / "products.csv", [["A-1", "电饭煲", "小家电", "台", "100", "100:89; 500:80"],
                                                  ["A-2", "空气炸锅", "小家电", "台", "50", "120"]])
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc])
    assert result.exit_code == 0, result.output + result.stderr
    assert "2 to create, 0 to update, 0 rows with errors" in result.stdout
    assert "Imported: 2 created, 0 updated, 0 published." in result.stdout
    assert result.stderr == ""
    found = products(app)
    assert sorted(found) == ["A-1", "A-2"] and found["A-1"].status is ProductStatus.DRAFT
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0

    again = runner.invoke(args=["catalog", "import", str(path), "--company", uscc.lower()])
    assert again.exit_code == 0
    assert "0 to create, 2 to update" in again.stdout
    assert len(products(app)) == 2


def test_import_dry_run_writes_nothing(app, runner, uscc, tmp_path, english):
    path = write_csv(tmp_path / "products.csv", [["D-1", "电饭煲", "小家电", "台", "100", "89"]])
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc, "--dry-run"])
    assert result.exit_code == 0
    assert "1 to create, 0 to update" in result.stdout and "Dry run: nothing was written." in result.stdout
    assert products(app) == {}


def test_import_publish_publishes(app, runner, uscc, tmp_path, english):
    path = write_csv(tmp_path / "products.csv", [["P-1", "电饭煲", "小家电", "台", "100", "89"]])
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc, "--publish"])
    assert result.exit_code == 0
    assert "1 published" in result.stdout
    assert products(app)["P-1"].status is ProductStatus.PUBLISHED


def test_import_with_problems_prints_row_and_column_and_imports_nothing(app, runner, uscc, tmp_path, english):
    path = write_csv(tmp_path / "products.csv", [
        ["E-1", "电饭煲", "小家电", "台", "100", "89"],
        ["E-2", "电饭煲", "小家电", "台", "0", "89"],
        ["E-3", "电饭煲", "火箭", "台", "10", "-5"],
    ])
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc, "--publish"])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert "Row 3, column 起订量: Must be at least 1, not 0." in errors
    assert any(line.startswith("Row 4, column 类目: Unknown category 火箭") for line in errors)
    assert "Row 4, column 阶梯价: The price -5 is negative." in errors
    assert "Nothing was imported: 3 problems must be corrected first." in errors
    assert "1 to create, 0 to update, 2 rows with errors" in result.stdout
    assert products(app) == {}


def test_import_refused_file_exits_1(app, runner, uscc, tmp_path, english):
    path = tmp_path / "catalog.xlsx"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc])
    assert result.exit_code == 1
    assert "This is not a spreadsheet" in result.stderr
    assert products(app) == {}


def test_import_unknown_or_non_exporter_company_exits_1(app, runner, tmp_path, english):
    path = write_csv(tmp_path / "products.csv", [["U-1", "电饭煲", "小家电", "台", "100", "89"]])
    result = runner.invoke(args=["catalog", "import", str(path), "--company", "91330200MA2XXXXX0X"])
    assert result.exit_code == 1
    assert "No company has the unified social credit code 91330200MA2XXXXX0X." in result.stderr
    with app.app_context():
        buyer = make_company(kind=CompanyKind.RETAILER, name_zh="超市").uscc
    result = runner.invoke(args=["catalog", "import", str(path), "--company", buyer])
    assert result.exit_code == 1
    assert "超市 is not an exporter" in result.stderr
    assert products(app) == {}


def test_import_help_says_nothing_is_imported_on_errors(runner):
    result = runner.invoke(args=["catalog", "import", "--help"])
    assert result.exit_code == 0
    assert "NOTHING is imported" in result.output and "--dry-run" in result.output

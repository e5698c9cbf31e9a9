"""Rongtong 融通: an export-diversion procurement marketplace."""
from pathlib import Path

from setuptools import find_namespace_packages, setup

setup(
    name="rongtong",
    version="0.1.0",
    description="Export-diversion procurement marketplace (出口转内销对接平台)",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.14",
    packages=find_namespace_packages(include=["marketplace", "marketplace.*", "search_index", "search_index.*"]),
    include_package_data=True,
    package_data={"": ["*.csv", "*.txt", "*.css", "*.js", "*.json"]},
    install_requires=[
        "flask>=3.1,<3.2",
        "flask-sqlalchemy>=3.1,<3.2",
        "sqlalchemy>=2.0.30,<2.1",
        "flask-migrate>=4.0,<5",
        "alembic>=1.13,<2",
        "flask-wtf>=1.2,<1.3",
        "wtforms>=3.1,<3.3",
        "email-validator>=2.1,<3",
        "flask-login>=0.6.3,<0.7",
        "flask-babel>=4.0,<5",
        "babel>=2.14,<3",
        "flask-limiter[redis]>=3.8,<4",
        "flask-talisman>=1.1,<2",
        "bootstrap-flask>=2.4,<3",
        "python-dotenv>=1.0,<2",
        "python-stdnum>=1.20,<3",
        "psycopg[binary]>=3.2,<4",
        "redis>=5,<7",
        "faker>=30,<40",
        "gunicorn>=23,<24",
        "huey>=2.5,<3",  # the periodic jobs (marketplace/jobs.py), run by `flask index worker`
        "openpyxl>=3.1,<4",
        # XML of uploaded workbooks: no DTD, no entity expansion (openpyxl uses it too when installed)
        "defusedxml>=0.7.1,<0.8",
        "pillow>=10.4,<13",
        "tzdata>=2024.1",
        # search: Whoosh 2.7.4 is the last release (the design card's engine); rjieba segments Chinese
        # (jieba's dictionary, in Rust: 7-8x faster than jieba here); numpy runs the query execution
        "whoosh==2.7.4",
        "rjieba>=0.2.2,<0.3",
        "numpy>=1.26,<3",
        # matchmaking sessions: QR codes for check-in (pure Python, SVG); the session report as PDF
        "segno>=1.6,<2",
        "fpdf2>=2.8,<3",
        # the open API: flask-smorest generates the OpenAPI 3.1 document from marshmallow schemas (apispec,
        # webargs come with it); requests delivers webhooks
        "flask-smorest>=0.46,<0.48",
        "marshmallow>=3.20,<5",
        "requests>=2.32,<3",
        "urllib3>=2.2,<3",  # webhooks check the address a delivery actually connects to
        # operations: Prometheus metrics at /metrics (per-endpoint latency, gunicorn's workers added up),
        # JSON log lines in production
        "prometheus-client>=0.20,<0.27",
        "prometheus-flask-exporter>=0.23,<0.24",
        "python-json-logger>=3.1,<5",
    ],
    extras_require={
        "dev": [
            "pytest>=8,<9",
            "pytest-xdist>=3.6,<4",  # `make test` runs two workers
            "playwright>=1.48,<2",
            "ruff>=0.6,<1",
            "schemathesis>=4.30,<5",  # fuzzes every API operation from the generated document
            "jieba>=0.42,<0.43",  # only bench/analysis_bench.py compares it with rjieba
        ],
        # `make loadtest` (bench/loadtest.py): the load generator, installed by that target only
        "load": [
            "locust>=2.30,<3",
        ],
    },
    entry_points={"console_scripts": []},
)

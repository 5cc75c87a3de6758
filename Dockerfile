# markbook service image: embedded SQLite by default; set MARKBOOK_DB__URL for PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MARKBOOK_DATA_DIR=/var/lib/markbook

# TrueType CJK fonts for printable PDFs (Noto CJK is CFF and cannot be embedded by
# reportlab); DejaVu for pinyin tone marks, which WenQuanYi Micro Hei leaves blank.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei fonts-wqy-zenhei fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, from the hashed runtime lock (and the locked build backend), so this
# layer is rebuilt only when the lock changes.
COPY requirements/lock.txt requirements/lock-build.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes \
        -r requirements/lock.txt -r requirements/lock-build.txt
COPY pyproject.toml README.md ./
COPY service ./service
COPY ocr ./ocr
COPY grading ./grading
COPY errorbook ./errorbook
COPY models ./models
# simulation composes the synthetic class `markbook demo` runs on; sample_scans holds the
# demo's question bank and roster (found in the working directory, /app).
COPY simulation ./simulation
COPY sample_scans ./sample_scans
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && useradd --system --home /var/lib/markbook markbook \
    && mkdir -p /var/lib/markbook && chown markbook /var/lib/markbook

USER markbook
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz/ready').status != 200)"
CMD ["markbook", "serve", "--host", "0.0.0.0", "--port", "8000"]

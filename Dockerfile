# One image for web and worker: `investigator serve` / `investigator worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 investigator
WORKDIR /app

COPY pyproject.toml README.md ./
COPY investigator ./investigator
COPY connectors ./connectors
COPY tasks ./tasks
RUN pip install .

USER investigator
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["investigator", "serve", "--host", "0.0.0.0", "--port", "8000"]

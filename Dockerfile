# ishc-bot: slim Python, non-root, database on a volume, health check on /healthz.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ISHC_DB=/data/ishc.sqlite3 \
    ISHC_LISTEN=0.0.0.0:8080 \
    ISHC_TZ=Asia/Ho_Chi_Minh \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY locales ./locales
RUN pip install --no-cache-dir -e . \
    && useradd --system --uid 10001 --home-dir /app ishc \
    && mkdir -p /data && chown ishc /data

USER ishc
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

CMD ["ishc-bot", "run"]

# warroom: slim Python 3.11, non-root, only runtime files. Production uses DATABASE_URL and
# REDIS_URL: the image carries neither the embedded stores nor the test doubles.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY incident ./incident
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/warroom --create-home warroom
COPY --from=build /install /usr/local
USER 10001
ENV PORT=3000 HOST=0.0.0.0 WARROOM_DATA_DIR=/var/lib/warroom PYTHONUNBUFFERED=1
EXPOSE 3000
# exec form (no shell): PORT is read by Python. Kubernetes ignores HEALTHCHECK (deploy/ has probes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["warroom"]
CMD ["serve"]

# otpgate: a small, non-root image. Build: docker build -t otpgate .
FROM python:3.11-slim AS build
WORKDIR /src
# Dependencies come from the lock (pinned, hash-checked; `make lock` writes it).
COPY requirements/runtime.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt \
 && pip wheel --no-cache-dir --require-hashes --no-deps --wheel-dir /wheels \
      -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    OTPGATE_LOG_JSON=true \
    OTPGATE_DEMO_ENABLED=false \
    OTPGATE_PRODUCTION_OUTBOX=false \
    OTPGATE_HEADER_TIMEOUT_SECONDS=10
RUN useradd --system --create-home --home-dir /app --uid 10001 otpgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl && rm -rf /wheels
COPY deploy/entrypoint.sh /usr/local/bin/otpgate-entrypoint
WORKDIR /app
USER otpgate
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=2)"
ENTRYPOINT ["otpgate-entrypoint"]

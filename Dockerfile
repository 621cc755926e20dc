# cloudtower-mock in a container: docker build -t cloudtower-mock . && docker run -p 8080:8080 cloudtower-mock
# See "Container" in README.md. Flags after the image name replace the default command, e.g.
#   docker run -p 8443:8443 cloudtower-mock serve --host 0.0.0.0 --port 8443 --tls
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLOUDTOWER_MOCK_PORT=8080

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin mock
WORKDIR /app

# dependencies first (a layer kept while only the code changes)
COPY pyproject.toml README.md ./
RUN mkdir -p mock_server contract_tests && touch mock_server/__init__.py contract_tests/__init__.py \
 && pip install -e . "cloudtower-sdk==2.20.0" \
 && rm -rf mock_server contract_tests

# the code (installed in place: the worlds in fixtures/ and the dashboard are read from here)
COPY mock_server ./mock_server
COPY contract_tests ./contract_tests
COPY fixtures ./fixtures
RUN pip install --no-deps -e . && chown -R mock:mock /app

USER mock
# derive the SDK's contract once, at build time (kept in the user's cache): a start only loads it
RUN cloudtower-mock contract info

EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "mock_server.healthcheck"]
ENTRYPOINT ["cloudtower-mock"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

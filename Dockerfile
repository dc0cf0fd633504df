# The MGE image: the code location server (the default command), and the same image serves as the
# Dagster webserver, the daemon and every run's own container or pod (dagster-webserver is installed).
#
#   docker build -t mge:latest .
#
# Secrets (ANTHROPIC_API_KEY, the Postgres password) are given at run time, never built in.

# node and the pinned TypeScript compiler of package-lock.json, for generated TypeScript projects.
FROM node:20-bookworm-slim AS node-tools
WORKDIR /opt/mge
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# Same Debian release as the node stage, so its node binary runs here.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=node-tools /usr/local/bin/node /usr/local/bin/node
COPY --from=node-tools /opt/mge/node_modules /opt/mge/node_modules

# A regular (not editable) install from a copy that is removed afterwards, so the package is imported
# from site-packages. dagster-docker and dagster-k8s: each run's container loads the instance, whose run
# launcher lives there (DockerRunLauncher under compose, K8sRunLauncher under Helm).
COPY pyproject.toml README.md /tmp/mge-src/
COPY mge_assets /tmp/mge-src/mge_assets
RUN pip install /tmp/mge-src "dagster-docker==0.29.*" "dagster-k8s==0.29.*" \
    && rm -rf /tmp/mge-src

# The gold set of the canaries (MGE_GOLD_SET) and the sample requests.
COPY examples /opt/mge/examples

# Non-root; a numeric id so Kubernetes can verify runAsNonRoot. /data holds what runs share (asset
# values, the cache, generated projects, the inbox): a volume in compose, a PersistentVolumeClaim in Helm.
RUN useradd --create-home --uid 10001 --user-group mge \
    && mkdir -p /data /opt/dagster/dagster_home /opt/dagster/app \
    && chown -R 10001:10001 /data /opt/dagster/dagster_home /opt/mge

ENV MGE_HOME=/data/.mge \
    MGE_WORKSPACE=/data/mge_workspace \
    MGE_INBOX=/data/mge_inbox \
    MGE_GOLD_SET=/opt/mge/examples/gold_set.yaml \
    MGE_NODE_MODULES=/opt/mge/node_modules \
    DAGSTER_HOME=/opt/dagster/dagster_home

USER 10001:10001
WORKDIR /opt/mge

# The code location's gRPC port.
EXPOSE 4000

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "mge_assets.definitions"]

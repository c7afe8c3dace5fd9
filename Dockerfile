# One image for the four services; the command picks the service:
#   docker run gongzhi python -m services.routing
# docker-compose.yml also runs its jobs from it: python -m devtools.create_topics
# (kafka-init) and python -m devtools.rates_exporter (monitoring profile).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --system --uid 10001 gongzhi
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY devtools ./devtools
RUN pip install .
USER gongzhi
# Containers listen on every interface; the host decides what is published.
ENV GONGZHI_HTTP_HOST=0.0.0.0
CMD ["python", "-m", "services.intake"]

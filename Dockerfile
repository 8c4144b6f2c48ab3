# A single registry node: `docker build -t eureka-py .` then `docker run -p 8761:8761 eureka-py`.
# Settings come from the environment (SERVER_PORT, EUREKA_SERVER_*, EUREKA_CLIENT_SERVICEURL_DEFAULTZONE
# for peers) or from arguments: `docker run eureka-py server --peer http://other:8761/eureka/`.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# Wheels of eureka-py and of what serving needs ([server]), nothing of the development set.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[server]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin eureka
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER 10001
ENV SERVER_ADDRESS=0.0.0.0 \
    SERVER_PORT=8761 \
    PYTHONUNBUFFERED=1
EXPOSE 8761
# Liveness: the node answers. (Readiness, /actuator/health/readiness, is for load balancers.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/actuator/health/liveness' % os.environ.get('SERVER_PORT', '8761'), timeout=2)"]
ENTRYPOINT ["eureka"]
CMD ["server"]

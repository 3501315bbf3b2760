# syntax=docker/dockerfile:1
# tencent_live_exporter image: docker build -t tencent_live_exporter .
#
# Both stages install packages from the lists in scripts/ (one list per purpose, shared with the
# README's install step and CI), and the build stage runs scripts/container-build.sh, the same script
# CI runs (ctest container_build), so this recipe is exercised even where no Docker engine exists.

# ---- build: Debian 12 with the build packages of scripts/packages.txt ----
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/packages.txt scripts/
RUN scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/container-build.sh /out

# ---- runtime: slim Debian 12 with only the runtime libraries and CA certificates ----
FROM debian:12-slim AS runtime
COPY scripts/install-deps.sh scripts/runtime-packages.txt /tmp/deps/
RUN /tmp/deps/install-deps.sh runtime \
    && rm -rf /var/lib/apt/lists/* /tmp/deps \
    && groupadd --system --gid 65532 tle \
    && useradd --system --uid 65532 --gid tle --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin tle \
    && mkdir -p /etc/tencent_live_exporter
COPY --from=build /out/bin/tencent_live_exporter /out/bin/tencent_live_simulator /usr/local/bin/

LABEL org.opencontainers.image.title="tencent_live_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Tencent Cloud Chat live rooms"

USER 65532:65532
EXPOSE 9877
# The config (and the secret it names) are mounted at run time, e.g. a ConfigMap or a bind mount.
# `docker run IMAGE --demo` replaces CMD and runs on the embedded simulator without any config.
ENTRYPOINT ["/usr/local/bin/tencent_live_exporter"]
CMD ["--config.file=/etc/tencent_live_exporter/tencent_live_exporter.yml"]

# rustok-iggy serve as a container image: the embedded broker as a
# standalone Iggy 0.8.0 server (TCP and HTTP API), FROM scratch.
#
# The build context is not this directory but a staging directory holding
# a static rustok-iggy binary (CGO_ENABLED=0, built on the host), an empty
# data/ directory and this file: `make image` prepares it in bin/image and
# runs `docker build` there (the integration suite's image target does the
# same in a temporary directory). Nothing is pulled: scratch is built in.
#
# The image holds only /usr/local/bin/rustok-iggy and an empty /data owned
# by the unprivileged user 10001:10001 (a scratch image has no
# /etc/passwd, so the user is numeric). Configuration is Iggy's environment
# (serve --help lists what it reads); flags after the image name replace
# CMD, e.g. `docker run IMAGE serve --fsync always`.
FROM scratch

COPY --chown=10001:10001 data/ /data/
COPY rustok-iggy /usr/local/bin/rustok-iggy

USER 10001:10001

# Iggy's image binds all interfaces; serve then refuses to start while the
# root user has the default password iggy, so set IGGY_ROOT_PASSWORD
# (read on the first start, with IGGY_ROOT_USERNAME, default iggy) or bind
# loopback (IGGY_TCP_ADDRESS=127.0.0.1:8090 with --network host).
ENV IGGY_SYSTEM_PATH=/data \
    IGGY_TCP_ADDRESS=0.0.0.0:8090 \
    IGGY_HTTP_ADDRESS=0.0.0.0:3000

VOLUME ["/data"]
# Iggy TCP protocol, Iggy HTTP API (with /health, /metrics and /ping).
EXPOSE 8090/tcp 3000/tcp

# One Iggy Ping over TCP to IGGY_TCP_ADDRESS (0.0.0.0 is reached on
# loopback); no shell is needed, and none is there.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/rustok-iggy", "ping"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rustok-iggy"]
CMD ["serve"]

LABEL org.opencontainers.image.title="rustok-iggy" \
      org.opencontainers.image.description="rustok-iggy serve: an Iggy 0.8.0 compatible broker (TCP protocol and HTTP API), static binary FROM scratch"

# The fx example application (adapters/examples/fxapp) in remote mode, as
# a container image FROM scratch: a static binary and its configuration.
# Build with `make example-images`, which stages the context in
# bin/fxapp-image (fxapp, events.yaml = examples/docker-fxapp.yaml, this
# file). examples/docker-compose.yml runs it beside the broker image.
FROM scratch

COPY fxapp /usr/local/bin/fxapp
COPY events.yaml /etc/rustok-iggy/events.yaml

USER 10001:10001

# The broker to reach and the credentials (events.yaml reads them).
ENV RUSTOK_IGGY_CONFIG=/etc/rustok-iggy/events.yaml \
    IGGY_ADDRESS=127.0.0.1:8090 \
    IGGY_USERNAME=iggy

ENTRYPOINT ["/usr/local/bin/fxapp"]
CMD ["-events", "6"]

LABEL org.opencontainers.image.title="rustok-iggy-fxapp" \
      org.opencontainers.image.description="rustok-iggy's fx example application in remote mode, static binary FROM scratch"

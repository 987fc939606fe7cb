# syntax=docker/dockerfile:1
# Build the vllm-grafana CLI as a static musl binary.
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
COPY docs ./docs
RUN cargo build --release --locked --bin vllm-grafana

# The CLI image: runs the simulator in the demo stack, or `check` on demand.
FROM alpine:3.20 AS cli
RUN adduser -D -H vllm
COPY --from=build /src/target/release/vllm-grafana /usr/local/bin/vllm-grafana
USER vllm
EXPOSE 8000
ENTRYPOINT ["vllm-grafana"]
CMD ["simulate", "--listen", "0.0.0.0:8000"]

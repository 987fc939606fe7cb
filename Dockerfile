# syntax=docker/dockerfile:1
# Multi-stage build of everything the compose stack runs:
#   cli      - the vllm-grafana CLI (the simulator is the stack's default target)
#   grafana  - Grafana with this project's datasource plugin installed

# Static musl binaries: the official Grafana image is Alpine, where a glibc
# binary would not start.
FROM rust:1.95-alpine3.22 AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
# Dependencies first, in a layer of their own: a source change rebuilds only
# this crate. The stub sources are replaced by the real ones below.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin benches \
  && echo 'fn main() {}' > src/bin/vllm-grafana.rs \
  && echo 'fn main() {}' > src/bin/gpx_vllm.rs \
  && touch src/lib.rs \
  && for b in $(sed -n '/^\[\[bench\]\]/,/^name/ s/^name = "\(.*\)"$/\1/p' Cargo.toml); do echo 'fn main() {}' > "benches/$b.rs"; done \
  && cargo build --release --locked --bin vllm-grafana --bin gpx_vllm \
  && rm -rf src
COPY . .
# The stubs' build stamps are older than the real sources: touch to be sure.
RUN touch src/lib.rs src/bin/*.rs \
  && cargo build --release --locked --bin vllm-grafana --bin gpx_vllm

# The frontend module (dist/module.js) from the committed lockfile.
FROM node:24-alpine3.22 AS frontend
WORKDIR /src
COPY package.json package-lock.json tsconfig.json vite.config.ts ./
COPY src/frontend ./src/frontend
COPY tests/packaging ./tests/packaging
COPY plugin.json ./
COPY img ./img
RUN npm ci --no-audit --no-fund && npm run build

FROM alpine:3.22 AS cli
RUN adduser -D -H vllm
COPY --from=build /src/target/release/vllm-grafana /usr/local/bin/vllm-grafana
USER vllm
EXPOSE 8000
ENTRYPOINT ["vllm-grafana"]
CMD ["simulate", "--listen", "0.0.0.0:8000"]

FROM grafana/grafana:12.3.0 AS grafana
ARG TARGETARCH=amd64
# Plugins live outside /var/lib/grafana so the data volume never hides an upgrade.
ENV GF_PATHS_PLUGINS=/var/lib/grafana-plugins
ENV GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=vllm-grafana-datasource
USER root
COPY --from=frontend /src/dist/ /var/lib/grafana-plugins/vllm-grafana-datasource/
COPY plugin.json README.md README.zh-CN.md CHANGELOG.md /var/lib/grafana-plugins/vllm-grafana-datasource/
# plugin.json's info.updated is stamped when the plugin is built, as scripts/package-plugin.sh does.
RUN sed -i "s/%TODAY%/$(date -u +%Y-%m-%d)/" /var/lib/grafana-plugins/vllm-grafana-datasource/plugin.json
COPY img /var/lib/grafana-plugins/vllm-grafana-datasource/img
COPY --from=build --chmod=0755 /src/target/release/gpx_vllm /var/lib/grafana-plugins/vllm-grafana-datasource/gpx_vllm_linux_${TARGETARCH}
RUN chown -R 472:0 /var/lib/grafana-plugins
USER 472

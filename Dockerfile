# syntax=docker/dockerfile:1
#
# executor: production image.
#
#   docker build -t ${REGION}-docker.pkg.dev/${PROJECT_ID}/executor/executor:${VERSION} .
#   docker push    ${REGION}-docker.pkg.dev/${PROJECT_ID}/executor/executor:${VERSION}
#
# Notes
# - The base image's major (24) must match package.json devDependencies.node:
#   the npm package `node` is how the repo pins Node for development and tests;
#   it is a devDependency, so `npm ci --omit=dev` leaves it out and the image
#   runs the base image's own `node`. test/infra checks the two majors agree.
# - There is no build step. Node 24 strips TypeScript types itself, so src/ is
#   copied as .ts and run directly. Type stripping never applies to files under
#   node_modules, which is why this service must not be installed as a
#   dependency of another image: build from this repo.
# - Signals and orphans: tini is PID 1 and forwards SIGTERM to node, whose
#   handlers shut down gracefully within SHUTDOWN_GRACE. tini also reaps the
#   processes an `exec` job's script leaves behind; with node as PID 1 they
#   would stay as zombies for the life of the instance.
# - No HEALTHCHECK: Cloud Run ignores it and GKE uses the probes declared in
#   infra/gke/deployment.yaml (/readyz, /healthz).

FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at runtime
# (package.json allowScripts refuses protobufjs' anyway).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM node:24-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080
# Files stay owned by root and read-only for the `node` user (uid 1000)
# that runs the service.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/executor.js", "serve"]

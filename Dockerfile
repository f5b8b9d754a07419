# syntax=docker/dockerfile:1
#
# executor: production image, made of the npm package that the tests use.
#
#   docker build -t ${REGION}-docker.pkg.dev/${PROJECT_ID}/executor/executor:${VERSION} .
#   docker push    ${REGION}-docker.pkg.dev/${PROJECT_ID}/executor/executor:${VERSION}
#
# Notes
# - The base image's major (24) must match package.json devDependencies.node:
#   the npm package `node` is how the repo pins Node for development and tests;
#   test/infra checks the two majors agree.
# - The image runs what users get: the build stage compiles dist/ and packs
#   the tarball (`npm pack`, the files package.json `files` lists), the runtime
#   stage unpacks exactly those files next to the production dependencies
#   installed from package-lock.json (`npm ci --omit=dev`, the versions CI
#   tested). bin/executor.js runs dist/ because the package has no src/.
# - --ignore-scripts everywhere: no dependency needs an install script at
#   runtime, and the `node` devDependency's would fetch a second Node.
# - Signals and orphans: tini is PID 1 and forwards SIGTERM to node, whose
#   handlers shut down gracefully within SHUTDOWN_GRACE. tini also reaps the
#   processes an `exec` job's script leaves behind; with node as PID 1 they
#   would stay as zombies for the life of the instance.
# - No HEALTHCHECK: Cloud Run ignores it and GKE uses the probes declared in
#   infra/gke/deployment.yaml (/readyz, /healthz).

FROM node:24-slim AS build
WORKDIR /build
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY src ./src
# What `npm pack` runs as prepack (npm run build), with the base image's node.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm pack --ignore-scripts --pack-destination /pkg \
 && tar -xzf /pkg/cloud-tasks-executor-*.tgz -C /pkg

FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
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
COPY --from=build /pkg/package/ ./
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/executor.js", "serve"]

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
# - Signals: `node` runs as PID 1 (exec-form CMD, no shell in between). PID 1
#   gets no default signal handlers from the kernel, but `executor serve`
#   installs its own SIGTERM/SIGINT handlers (graceful shutdown within
#   SHUTDOWN_GRACE), so no tini is needed. Exec jobs' child processes are
#   killed by the service on stop/timeout; if you add job types that leave
#   orphans, run the container with `docker run --init` (GKE/Cloud Run:
#   add tini as the ENTRYPOINT).
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
CMD ["node", "bin/executor.js", "serve"]

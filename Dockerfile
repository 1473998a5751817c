# imdsv2 CLI image for scheduled assessments (EventBridge Scheduler + ECS Fargate, Kubernetes CronJob, CI runners).
# Build:  docker build -t imdsv2-cutover .
# Run:    docker run --rm -e AWS_REGION=us-east-1 -v "$PWD/out:/work" imdsv2-cutover assess --out /work
#         (--out is a folder: out/assessment.json and the report land in ./out)
# Credentials come from the SDK's default chain: the ECS task role, IRSA, or AWS_* variables. Never bake them in.

ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS build
# Same pnpm as the packageManager field of package.json, installed with npm (no corepack download at build time).
RUN npm install --global pnpm@10.34.9 && npm cache clean --force
WORKDIR /src
# Fetch the packages named by the lockfile alone, so this layer is cached until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile
# Build every package, then copy the CLI with only its production dependencies (workspace packages as built dist).
# --legacy: the workspace does not set inject-workspace-packages.
RUN pnpm build && pnpm --filter imdsv2-cutover --prod deploy --legacy /out

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NO_COLOR=1
WORKDIR /app
# Owned by root and read-only for the runtime user: the process cannot rewrite its own code.
COPY --from=build /out /app
RUN ln -s /app/bin/run.js /usr/local/bin/imdsv2 && mkdir /work && chown node:node /work
# The node image's unprivileged user (uid 1000).
USER node
WORKDIR /work
ENTRYPOINT ["imdsv2"]
CMD ["--help"]

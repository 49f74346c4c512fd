# Arbor: the server and its migrations, run from TypeScript source with tsx.
FROM node:20-bookworm-slim

# git: agent sessions work in git worktrees of the goal's repository.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

# The agent CLIs Arbor starts (ARBOR_AGENT=claude, the default, or codex), at the
# versions its real-CLI tests prove (test/support/real-clis.ts; a unit test keeps
# the two equal). Before the app's files, so editing those does not reinstall them.
# An image updates by being rebuilt: the CLIs' own updaters stay off.
ARG CLAUDE_CODE_VERSION=2.1.332
ARG CODEX_VERSION=0.171.0
RUN npm install -g --no-audit --no-fund \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" "@openai/codex@${CODEX_VERSION}" \
 && npm cache clean --force
ENV DISABLE_AUTOUPDATER=1

# Dependencies first, so editing the source does not reinstall them. tsx is a
# regular dependency: it runs the server, so dev dependencies are left out.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY migrations ./migrations
COPY server ./server
# The dashboard's source: bundled in memory when Arbor starts (esbuild is a dependency).
COPY web ./web

# Arbor runs as root so that it can start agents as `node` (ARBOR_AGENT_USER):
# agents run code an AI wrote, and as another user they cannot read Arbor's
# environment (its tokens, DATABASE_URL) or its data dir. Only root can start
# processes as another user. Agents get node's home, /home/node; repositories
# they work in must be writable by node (uid 1000).
# Without DATABASE_URL Arbor runs an embedded Postgres under ARBOR_DATA_DIR; as
# root it runs it as the `postgres` user. The data dir is passable by others
# (to reach worktrees) but not listable.
RUN groupadd --system postgres \
 && useradd --system --gid postgres --home-dir /nonexistent --shell /usr/sbin/nologin postgres \
 && mkdir -m 711 -p /app/.arbor

# Listening beyond loopback: Arbor refuses to start unless ARBOR_API_TOKEN is set.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    ARBOR_DATA_DIR=/app/.arbor \
    ARBOR_AGENT_USER=node
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node itself (not npm or npx) is PID 1's command, so SIGTERM reaches Arbor's graceful shutdown.
CMD ["node", "--import", "tsx", "server/main.ts"]

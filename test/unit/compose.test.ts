import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema, loadConfig } from '../../server/config.js';
import { REAL_CLI_VERSIONS } from '../support/real-clis.js';

/**
 * `docker compose up` cannot run on every machine (it needs a container
 * engine), so these checks keep the compose file, the Dockerfile and the
 * README's configuration table honest against the code that reads them.
 */

const root = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const read = (file: string) => readFileSync(root(file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, unknown> | string[];
  healthcheck?: { test?: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { target?: number; published?: number | string })[];
  stop_grace_period?: string;
}

const compose = parse(read('docker-compose.yml')) as { services?: Record<string, ComposeService> };
const services = compose.services ?? {};
const schemaKeys = Object.keys(envSchema.shape);
/** Not Arbor's settings but its agents': Arbor passes its environment on to the CLIs it starts. */
const AGENT_PASSTHROUGH = ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'CODEX_HOME'];

/** A service's environment as a map, whichever of compose's two forms it uses. */
function environmentOf(service: ComposeService | undefined): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value == null ? '' : String(value)]));
}

/** Compose's interpolation as it goes with nothing set in the shell: `${VAR:-default}` and `${VAR-default}` become the default. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)([^}]*)\}/g, (_match, _name, _op, fallback: string) => fallback)
    .replace(/\$\$/g, '$');
}

describe('docker-compose.yml', () => {
  const postgres = services.postgres;
  const arbor = services.arbor;
  const arborEnv = environmentOf(arbor);

  it('has a postgres and an arbor service', () => {
    expect(postgres).toBeDefined();
    expect(arbor).toBeDefined();
    expect(postgres?.image).toMatch(/^postgres:/);
    expect(arbor?.build).toBeDefined();
  });

  it('checks postgres health with pg_isready', () => {
    const test = postgres?.healthcheck?.test;
    const command = Array.isArray(test) ? test.join(' ') : (test ?? '');
    expect(command).toMatch(/pg_isready\s+-U\s+\S+/);
  });

  it('starts arbor only once postgres is healthy', () => {
    const dependsOn = arbor?.depends_on;
    expect(dependsOn).toBeDefined();
    expect(Array.isArray(dependsOn)).toBe(false);
    expect((dependsOn as Record<string, { condition?: string }>).postgres?.condition).toBe('service_healthy');
  });

  it('publishes the port arbor listens on', () => {
    const port = interpolate(arborEnv.PORT ?? '8080');
    const published = (arbor?.ports ?? []).map((p) => (typeof p === 'object' ? `${p.published}:${p.target}` : String(p)));
    expect(published.some((p) => p.endsWith(`:${port}`))).toBe(true);
  });

  it('sets only variables that Arbor reads or passes on to its agents', () => {
    const keys = Object.keys(arborEnv);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect([...schemaKeys, ...AGENT_PASSTHROUGH], `${key} is neither a key of envSchema nor an agent's`).toContain(key);
  });

  it("passes the agents' model API settings through from the shell, unset when the shell has none", () => {
    const environment = arbor?.environment;
    expect(Array.isArray(environment)).toBe(false);
    // A key without a value is compose's pass-through: an empty string would instead point a CLI at no URL.
    for (const key of AGENT_PASSTHROUGH) {
      expect(Object.keys(environment as Record<string, unknown>), key).toContain(key);
      expect((environment as Record<string, unknown>)[key], key).toBeNull();
    }
  });

  it('gives arbor an environment that loadConfig accepts', () => {
    const env = Object.fromEntries(Object.entries(arborEnv).map(([key, value]) => [key, interpolate(value)]));
    for (const [key, value] of Object.entries(env)) expect(value, `${key} still has an unresolved variable`).not.toMatch(/\$\{/);

    const config = loadConfig(env);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.auth.apiToken).toBeDefined();
    expect(config.auth.apiToken!.length).toBeGreaterThanOrEqual(16);

    // The database URL names the postgres service and the credentials it was created with.
    const url = new URL(config.databaseUrl!);
    const pgEnv = environmentOf(postgres);
    expect(url.hostname).toBe('postgres');
    expect(decodeURIComponent(url.username)).toBe(pgEnv.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
  });
});

describe('stopping', () => {
  it("gives arbor time to drain before Docker kills it", () => {
    const grace = /^(\d+)s$/.exec(services.arbor?.stop_grace_period ?? '');
    expect(grace, 'arbor needs a stop_grace_period in seconds').not.toBeNull();
    const config = loadConfig(Object.fromEntries(Object.entries(environmentOf(services.arbor)).map(([key, value]) => [key, interpolate(value)])));
    // The drain, then closing HTTP and handing tasks back (each bounded at about 10 s).
    expect(Number(grace![1]) * 1000).toBeGreaterThanOrEqual(config.shutdownDrainMs + 20_000);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('builds on Node 20', () => {
    const from = instructions.filter((line) => /^FROM\s/i.test(line));
    expect(from.length).toBeGreaterThan(0);
    expect(from.at(-1)).toMatch(/^FROM\s+node:20(?:[-.][\w.-]*)?(?:\s|$)/i);
  });

  it('installs git', () => {
    expect(instructions.some((line) => /^RUN\s.*apt-get\s+install\b.*\sgit(\s|$)/i.test(line))).toBe(true);
  });

  it('installs from the lock file and runs the server as root, its agents as the node user', () => {
    expect(instructions.some((line) => /^RUN\s.*npm ci\b/i.test(line))).toBe(true);
    // Only root can start agents as another user; a USER line would make them share Arbor's.
    expect(instructions.filter((line) => /^USER\s/i.test(line))).toEqual([]);
    const env = instructions.filter((line) => /^ENV\s/i.test(line)).join(' ');
    expect(env).toMatch(/\bARBOR_AGENT_USER=node\b/);
    expect(loadConfig({ ARBOR_AGENT_USER: 'node' }).sessions.agentUser).toBe('node');
    expect(instructions.some((line) => /^CMD\s.*server\/main\.ts/.test(line))).toBe(true);
  });

  it('installs the agent CLIs at the versions the real-CLI suite proves', () => {
    const args = Object.fromEntries(
      instructions.flatMap((line) => {
        const match = /^ARG\s+([A-Z_]+)=(\S+)$/i.exec(line);
        return match ? [[match[1]!, match[2]!]] : [];
      }),
    );
    const install = instructions.find((line) => /^RUN\s.*npm install -g\b/.test(line)) ?? '';
    const pinned = [...install.matchAll(/"(@[\w-]+\/[\w-]+)@\$\{(\w+)\}"/g)].map(([, pkg, arg]) => [pkg, args[arg!]]);
    expect(pinned).toEqual([
      [REAL_CLI_VERSIONS.claude.pkg, REAL_CLI_VERSIONS.claude.version],
      [REAL_CLI_VERSIONS.codex.pkg, REAL_CLI_VERSIONS.codex.version],
    ]);
    // Installed before the app's source, so a source change does not reinstall ~800 MB.
    const installAt = instructions.indexOf(install);
    expect(installAt).toBeLessThan(instructions.findIndex((line) => /^COPY\s+server\b/.test(line)));
    expect(installAt).toBeLessThan(instructions.findIndex((line) => /^COPY\s+package\.json\b/.test(line)));
  });

  it('has a postgres user for the embedded Postgres, which refuses to run as root', () => {
    expect(instructions.some((line) => /^RUN\s.*useradd\b.*\spostgres(\s|$)/i.test(line))).toBe(true);
  });

  it('keeps local state out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/).map((line) => line.trim());
    for (const entry of ['node_modules', '.arbor', '.git']) expect(ignored).toContain(entry);
  });
});

describe('README configuration table', () => {
  const rows = new Map<string, string>();
  for (const line of read('README.md').split(/\r?\n/)) {
    const match = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|/.exec(line);
    if (match) rows.set(match[1]!, match[2]!.trim());
  }
  const defaults = envSchema.parse({}) as Record<string, unknown>;

  it('lists exactly the variables of envSchema', () => {
    expect([...rows.keys()].sort()).toEqual([...schemaKeys].sort());
  });

  it('states the default of each variable', () => {
    for (const key of schemaKeys) {
      const value = defaults[key];
      if (value === undefined) continue;
      expect(rows.get(key), `README default of ${key}`).toContain(`\`${String(value)}\``);
    }
  });
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-CLI suite has its own config (vitest.real-cli.config.ts): it installs ~800 MB from npm.
    exclude: ['**/node_modules/**', 'test/e2e-real-cli/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests never assert timings; a slow machine gets time, not failures.
    slowTestThreshold: 5_000,
  },
});

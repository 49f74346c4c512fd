import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The end-to-end suite with the real agent CLIs (installed from npm on first
 * use): `npx vitest run --config vitest.real-cli.config.ts`. Kept out of
 * `npm test`, which needs no registry and no 800 MB of CLIs.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/e2e-real-cli/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // On CI (a shared, loaded machine) a failed test runs once more before it counts as failed; locally
    // it never does, so that a flaky test shows. scripts/test-all.sh names every failure at the end.
    retry: process.env['CI'] ? 1 : 0,
  },
});

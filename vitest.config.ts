import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds or starts a real Redis and hands its URL to every test (see the file's header).
    globalSetup: ['test/support/redis-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start servers on loopback ports; two cores run two files at a time.
    maxWorkers: 2,
  },
});

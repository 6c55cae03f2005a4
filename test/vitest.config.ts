import { defineConfig } from 'vitest/config'

// Suites run against real PostgreSQL when DATABASE_URL is set (CI), each file in
// a fresh database cloned from a migrated template; otherwise on in-memory PGlite.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'bench/**'],
    globalSetup: ['./helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: files run two at a time; each has its own database.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
    // Nothing may be skipped or focused in CI.
    allowOnly: false,
  },
})

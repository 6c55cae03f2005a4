import { defineConfig } from 'vitest/config'

// Suites run against real PostgreSQL when DATABASE_URL is set (CI), each file in
// a fresh database cloned from a migrated template; otherwise on in-memory PGlite.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // Suites that start several server processes need a real PostgreSQL server:
    // they run whenever DATABASE_URL is set (always in CI), never on PGlite.
    exclude: ['**/node_modules/**', 'bench/**', ...(process.env.DATABASE_URL ? [] : ['faults/**'])],
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

import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the workspace sources, not built output.
    alias: [
      { find: /^@latchkey\/core\/testing$/, replacement: src('./packages/core/src/testing.ts') },
      { find: /^@latchkey\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@latchkey\/server$/, replacement: src('./packages/server/src/index.ts') },
      { find: /^@latchkey\/expo$/, replacement: src('./packages/expo/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.{ts,tsx}', 'packages/*/test/**/*.test.{ts,tsx}', 'e2e/**/*.test.ts', 'scripts/**/*.test.ts', 'integration/**/*.test.ts', 'chaos/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on CI: more workers only add contention.
    maxWorkers: 2,
  },
})

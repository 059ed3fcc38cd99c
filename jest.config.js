/**
 * Jest runs in ESM mode because the NestJS 12 packages are ESM-only (see docs/DEVELOPMENT.md,
 * Toolchain). How the suite runs (workers, timeouts, the embedded database template) is in
 * docs/DEVELOPMENT.md, Tests.
 */
const shared = {
  rootDir: '.',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testEnvironment: 'node' },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      // The fault suite runs on its own (test/faults/jest.config.mjs, `npm run test:faults`).
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
      testEnvironment: '<rootDir>/test/support/test-environment.mjs',
      // A beforeAll that boots apps on a busy 2-core machine; tests keep testTimeout.
      testEnvironmentOptions: { hookTimeout: 120_000 },
    },
  ],
  // Every suite has its own database (or embedded DATA_DIR), Redis key prefix and ports, so files
  // run in parallel, one worker per core; a worker that dies fails its file, not the run.
  maxWorkers: 2,
  testTimeout: 60_000,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
};

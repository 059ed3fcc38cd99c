/**
 * The fault suite (docs/RELIABILITY.md, "Fault table"): `npm run test:faults`, run by .ci/run.
 * It starts its own Redis and Postgres processes and stops them, so it runs apart from `npm test`,
 * one file at a time: a fault row's timings are its result.
 */
import base from '../../jest.config.js';

const e2e = base.projects.find((project) => project.displayName === 'e2e');

export default {
  ...e2e,
  rootDir: '../..',
  displayName: 'faults',
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 180_000,
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
};

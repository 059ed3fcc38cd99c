import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest's node environment with two additions for suites that boot apps (see docs/DEVELOPMENT.md,
 * Tests):
 * - hooks without a timeout of their own get `testEnvironmentOptions.hookTimeout` (jest.config.js)
 *   instead of the test timeout, since a beforeAll that boots apps needs more on a loaded machine;
 * - after a file's last hook, whatever test/support/test-app.ts started and the file did not close
 *   is closed and removed (an app still booting is awaited first), so a suite whose beforeAll
 *   failed or timed out still drops its database, keys and DATA_DIR, and no boot outlives its file.
 */
export default class TesseraTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.hookTimeout = config.projectConfig.testEnvironmentOptions.hookTimeout;
  }

  async handleTestEvent(event) {
    if (event.name === 'hook_start' && !event.hook.timeout && this.hookTimeout) {
      event.hook.timeout = this.hookTimeout;
    }
    if (event.name === 'run_finish') {
      const closeLeftovers = this.global.__tesseraCloseLeftovers;
      if (typeof closeLeftovers === 'function') await closeLeftovers();
    }
  }
}

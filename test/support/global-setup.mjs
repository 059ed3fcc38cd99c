import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

/**
 * Jest globalSetup: one scratch directory for the whole run, named in the environment, which the
 * workers inherit (they start after this). test/support/embedded-template.ts keeps the migrated
 * embedded database there; global-teardown.mjs removes it.
 */
export default function globalSetup() {
  process.env.TESSERA_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'tessera-test-run-'));
}

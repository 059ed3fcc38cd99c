import { rmSync } from 'node:fs';
import process from 'node:process';

/** Jest globalTeardown: removes the run's scratch directory (global-setup.mjs), failed run or not. */
export default function globalTeardown() {
  const runDir = process.env.TESSERA_TEST_RUN_DIR;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

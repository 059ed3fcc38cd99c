import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { httpSection } from './sections/http.section';
import { fanoutSection } from './sections/fanout.section';
import { loginSection } from './sections/login.section';
import { revocationSection } from './sections/revocation.section';
import { sessionVerificationSection } from './sections/session-verification.section';
import { sseSection } from './sections/sse.section';
import { startSection } from './sections/start.section';
import { createContext } from './support/context';
import { formatTable, roundValues, type Row } from './support/results';
import { provisionServices } from './support/services';

/**
 * `npm run bench [-- --quick] [--sse N] [--only http,sse,…] [--seconds S] [--out file]`: every measurement of
 * docs/PERFORMANCE.md in one run, on the real Postgres and Redis when DATABASE_URL and REDIS_URL
 * are set, else on the embedded defaults. Prints the table and writes bench/results.json.
 */
const SECTIONS = {
  http: httpSection,
  'session-verification': sessionVerificationSection,
  login: loginSection,
  sse: sseSection,
  revocation: revocationSection,
  'fan-out': fanoutSection,
  start: startSection,
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sse: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench/results.json' },
      seconds: { type: 'string' },
    },
  });
  const quick = values.quick!;
  const streams = Number(values.sse ?? (quick ? 200 : 5000));
  if (!Number.isSafeInteger(streams) || streams < 10)
    throw new Error('--sse must be a whole number ≥ 10');
  const only = values.only?.split(',');
  const services = await provisionServices(process.env);
  const seconds = Number(values.seconds ?? (quick ? 2 : 10));
  const context = createContext({ quick, seconds, streams }, services);
  const machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    services: services.describe,
    loadAverageAtStart: loadavg()[0],
  };
  context.log(`${quick ? 'quick run' : 'full run'} on ${machine.cpus}, ${machine.services}`);
  const rows: Row[] = [];
  try {
    for (const [name, section] of Object.entries(SECTIONS)) {
      if (only && !only.includes(name)) continue;
      context.log(`section ${name}`);
      rows.push(...(await section(context)));
    }
  } finally {
    await context.close();
    await services.cleanup();
  }
  const result = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    streams,
    machine: { ...machine, loadAverageAtEnd: loadavg()[0] },
    rows: roundValues(rows),
  };
  console.log(formatTable(rows));
  writeFileSync(values.out!, `${JSON.stringify(result, null, 2)}\n`);
  context.log(`wrote ${values.out}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

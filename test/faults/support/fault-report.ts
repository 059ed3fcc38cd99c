/**
 * Prints one row of the fault table (docs/RELIABILITY.md) with what was measured. Written to
 * stdout directly, so that it shows whether or not Jest is showing console output.
 */
export function reportRow(row: string, measured: Record<string, unknown>): void {
  const values = Object.entries(measured)
    .map(([name, value]) => `${name}=${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' ');
  process.stdout.write(`\nfault row | ${row} | ${values}\n`);
}

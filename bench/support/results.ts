/** One line of the bench table and of bench/results.json. */
export interface Row {
  /** The section (`http`, `sse-capacity`, …) and the measurement within it. */
  section: string;
  name: string;
  /** What was measured, by name with its unit in the name (`reqPerS`, `p99Ms`, `rssPerStreamKb`). */
  values: Record<string, number>;
  /** This row against a baseline measured in the same run (higher is better unless said). */
  ratio?: { value: number; against: string };
  target?: { text: string; met: boolean };
  note?: string;
}

/** A section that could not run here, with the reason (printed and recorded). */
export function skipped(section: string, name: string, reason: string): Row {
  return { section, name, values: {}, note: `skipped: ${reason}` };
}

const round = (value: number) =>
  Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;

export function formatTable(rows: Row[]): string {
  const lines: string[][] = [['section', 'measurement', 'values', 'ratio', 'target']];
  for (const row of rows) {
    lines.push([
      row.section,
      row.name,
      Object.entries(row.values)
        .map(([key, value]) => `${key}=${round(value).toLocaleString('en')}`)
        .join(' ') ||
        (row.note ?? ''),
      row.ratio ? `${row.ratio.value.toFixed(2)}× ${row.ratio.against}` : '',
      row.target ? `${row.target.met ? 'met' : 'MISSED'}: ${row.target.text}` : '',
    ]);
  }
  const widths = lines[0].map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  return lines
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column]))
        .join(' | ')
        .trimEnd(),
    )
    .join('\n');
}

export function roundValues(rows: Row[]): Row[] {
  return rows.map((row) => ({
    ...row,
    values: Object.fromEntries(Object.entries(row.values).map(([k, v]) => [k, round(v)])),
    ratio: row.ratio && { ...row.ratio, value: Math.round(row.ratio.value * 100) / 100 },
  }));
}

import type { TestApp } from './test-app';

/** The value of an unlabelled metric in the app's GET /metrics. */
export async function metric(t: TestApp, name: string): Promise<number> {
  const res = await t.http().get('/metrics').expect(200);
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(res.text);
  if (!match) throw new Error(`metric ${name} not in /metrics`);
  return Number(match[1]);
}

export interface WaitForOptions {
  /** Deadline for a truthy result; 5000 by default. */
  timeoutMs?: number;
  /** Pause between probes; 10 by default. */
  intervalMs?: number;
  /** What is awaited, for the error at the deadline. */
  message?: string;
}

/**
 * Polls `probe` until it returns a truthy value and resolves with it. A probe that throws counts as
 * not ready yet; at the deadline, the rejection names `message` and carries the last error.
 */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 5_000, intervalMs = 10, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result) return result;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: ${message} not met within ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Polls until `probe` answers something truthy. The default deadline is generous on purpose: a CI
 * machine runs PostgreSQL, Temporal, the worker and two jest workers on 2 CPUs, and a timer, signal
 * or retry that takes 1 s on a quiet machine can take 10-20 s there. A wrong answer still fails
 * (the probe keeps saying no until the deadline), it only fails later.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

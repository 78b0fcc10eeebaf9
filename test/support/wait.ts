/** Polls until `probe` returns a value, for end-to-end tests that wait on queues and crons. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, context: () => string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`timed out waiting for ${what}\n${context().slice(-4000)}`);
}

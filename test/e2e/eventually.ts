/** Retries an assertion until it holds or the time is up, for state that converges asynchronously. */
export async function eventually(check: () => void | Promise<void>, { timeoutMs = 20000, intervalMs = 50 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

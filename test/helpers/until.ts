/**
 * Resolves with the first truthy value `look` gives, polled every 10 ms; rejects after `timeoutMs`
 * naming `what`. For conditions no event announces (a process's state in /proc, a file's content).
 */
export async function until<T>(look: () => T | null | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = look();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Backoff for queue retries: 5 s, 10 s, 20 s … capped at 10 minutes. */
export function backoffSeconds(attempts: number, baseSeconds = 5, capSeconds = 600): number {
  const exponent = Math.max(0, attempts - 1);
  return Math.min(capSeconds, baseSeconds * 2 ** Math.min(exponent, 20));
}

/**
 * Identifiers. Load and run ids sort by time (like ULIDs) so that ledgers and raw-zone listings
 * read in order, and carry enough randomness that concurrent consumers never collide.
 */
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** A 26-character, lexicographically time-ordered id: 10 characters of time, 16 of randomness. */
export function timeOrderedId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (const byte of random) tail += alphabet[byte % 32];
  return time + tail;
}

export const newLoadId = (now?: number) => `ld_${timeOrderedId(now)}`;
export const newRunId = (now?: number) => `run_${timeOrderedId(now)}`;
export const newRequestId = () => `req_${timeOrderedId()}`;

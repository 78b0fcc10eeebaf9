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

/** When a time-ordered id (bare or prefixed, `ld_…`) was made, in epoch ms; undefined for any other string. */
export function timeOfId(id: string): number | undefined {
  const body = id.slice(id.indexOf("_") + 1);
  if (body.length !== 26) return undefined;
  let time = 0;
  for (const char of body.slice(0, 10)) {
    const digit = alphabet.indexOf(char);
    if (digit < 0) return undefined;
    time = time * 32 + digit;
  }
  return time;
}

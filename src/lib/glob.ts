/**
 * Whole-string glob matching for `--select` values and stream `match` patterns. `*` is any run of
 * characters (none, and "/" included); with `anyChar`, `?` is exactly one character; everything
 * else is literal. The classic two-pointer algorithm: on a mismatch it resumes one character
 * past where the last `*` started, so a match costs at most pattern × text steps, never the
 * exponential backtracking a regular expression of many `.*` can take.
 */
export interface GlobOptions {
  /** `?` matches any one character (dbt selectors); otherwise it matches only itself (stream patterns). */
  anyChar?: boolean;
}

export type GlobMatcher = (text: string) => boolean;

export function compileGlob(pattern: string, options: GlobOptions = {}): GlobMatcher {
  const anyChar = options.anyChar ?? false;
  if (!pattern.includes("*") && !(anyChar && pattern.includes("?"))) return (text) => text === pattern;
  return (text) => globMatch(pattern, text, anyChar);
}

function globMatch(pattern: string, text: string, anyChar: boolean): boolean {
  let p = 0;
  let t = 0;
  // The last `*` seen, and the text position its current attempt started from.
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === "*") {
      star = p++;
      resume = t;
    } else if (p < pattern.length && (c === text[t] || (anyChar && c === "?"))) {
      p++;
      t++;
    } else if (star !== -1) {
      // Let the last `*` take one more character, and match the rest of the pattern from there.
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

// Go counts a string's length for widths and padding in runes (code points), not UTF-16 units.

// Only a surrogate pair makes two units one rune.
const SURROGATE = /[\uD800-\uDFFF]/;

/** The number of code points in s. Most text has no surrogates: its length is the count, with no
 * walk over an iterator per character (which in a start's cold interpreter costs milliseconds
 * for a table of a hundred rows). */
export function runeLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

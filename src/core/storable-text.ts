/**
 * Text Postgres cannot keep as it was given: NUL is refused by `text` and `jsonb` alike, and a lone UTF-16
 * surrogate has no UTF-8 form (jsonb refuses its escape; a `text` parameter silently becomes U+FFFD).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is this pattern's purpose
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX; a well-formed pair stays raw. */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Why `text` cannot be stored as it is, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  const match = UNSTORABLE.exec(text);
  if (!match) return undefined;
  return match[0] === "\u0000" ? "holds a NUL character" : "holds a lone UTF-16 surrogate";
}

/** Whether JSON text (as JSON.stringify writes it) holds a string Postgres cannot store. */
export function jsonHoldsUnstorableText(json: string): boolean {
  // Most JSON holds no escape at all, and a substring search costs a fraction of the pattern's lookbehind.
  return json.includes("\\u") && UNSTORABLE_ESCAPE.test(json);
}

/**
 * Control characters other than tab, line feed and carriage return, and the C1 range: nothing a person
 * types into a name or a note. The HTTP edge refuses them along with what cannot be stored at all.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's purpose
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Why `text` is not acceptable input from outside (unstorable or control characters), or undefined. */
export function unacceptableText(text: string): string | undefined {
  return unstorableText(text) ?? (CONTROL.test(text) ? "holds a control character" : undefined);
}

/**
 * The one URL-redaction helper: every place that shows a connection URL (logs, error messages, the
 * status page) passes it through here. It works on text, not on parsed URLs, so a URL the WHATWG
 * parser rejects (a password with an unescaped `@` or `/`) is redacted too, and so are URLs
 * embedded in a longer message.
 */

// scheme://userinfo@ — the userinfo runs to the LAST `@` before the query, fragment or whitespace,
// as in URL parsers: `postgres://u:p@ss@host` has the password `p@ss`, not `p`.
const userinfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s?#]*)@/gi;
// Query parameters libpq and the Redis clients read a secret from (`?password=`, `&sslpassword=`).
const secretParams = /([?&](?:password|sslpassword|pass|passwd|pwd|secret|token|sslkey)=)[^&#\s]*/gi;

/** Masks every password in `text`: `redis://:***@h`, `postgres://u:***@h/db?password=***`. */
export function redactUrl(text: string): string {
  return text
    .replace(userinfo, (_match, scheme: string, info: string) => {
      const colon = info.indexOf(':');
      return colon === -1 ? `${scheme}${info}@` : `${scheme}${info.slice(0, colon)}:***@`;
    })
    .replace(secretParams, '$1***');
}

/** Name parts that mark a variable as a secret when it is PLAINTEXT. */
const SECRET_NAME_PARTS = ["KEY", "APIKEY", "PAT", "PWD", "PASS", "AUTH", "CERT", "PRIVATE"];
/** Substrings that mark a variable as a secret wherever they appear in its name. */
const SECRET_NAME_WORDS = ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "PRIVATEKEY", "ACCESSKEY"];

/** True when a variable name looks like it holds a secret (e.g. `DB_PASSWORD`, `API_KEY`, `GITHUB_TOKEN`). */
export function looksLikeSecret(name: string): boolean {
  const upper = name.toUpperCase();
  return SECRET_NAME_WORDS.some((w) => upper.includes(w)) || upper.split(/[_-]/).some((part) => SECRET_NAME_PARTS.includes(part));
}

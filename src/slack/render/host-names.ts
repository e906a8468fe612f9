/**
 * Host names as `TRUSTED_LINK_HOSTS` lists them and links are checked against them: lower-case,
 * punycode (so a look-alike Unicode name never equals the real one), no trailing dot. An entry
 * trusts that host and every subdomain of it (`example.com` trusts `docs.example.com`).
 */

/** Trimmed, lower-case, punycode form of a host name; null when `entry` is not a bare host name. */
export function normaliseHostName(entry: string): string | null {
  const trimmed = entry.trim().replace(/\.$/, '');
  if (trimmed === '' || /[\s/\\:@*?#[\]%]/.test(trimmed) || trimmed.startsWith('.')) return null;
  try {
    const { hostname } = new URL(`https://${trimmed}/`);
    return hostname === '' ? null : hostname;
  } catch {
    return null;
  }
}

/** Whether `hostname` is a trusted host or a subdomain of one (entries as from normaliseHostName). */
export function trustsHost(trusted: readonly string[], hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return trusted.some((entry) => host === entry || host.endsWith(`.${entry}`));
}

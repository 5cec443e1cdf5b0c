/**
 * Which URLs may receive webhooks. In production only https. Elsewhere (development, test) plain http is
 * also accepted, but only for a loopback host (localhost, 127.0.0.0/8, ::1), so a local receiver works
 * without certificates and nothing leaves the machine unencrypted. Pure; returns the problem or null.
 */
export function webhookUrlProblem(raw: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol !== 'http:') return 'must be https';
  if (production) return 'must be https in production';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  return loopback ? null : 'must be https (plain http only for loopback hosts outside production)';
}

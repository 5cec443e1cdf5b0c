/**
 * Endpoint signing secrets. A secret is `whsec_` + base64 of 24 random bytes (the Standard Webhooks
 * format the `standardwebhooks` library reads). At rest it is encrypted with AES-256-GCM under
 * WEBHOOK_SECRETS_KEY (kept outside the database), so a database dump alone cannot forge signatures;
 * the stored form is `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function key(base64Key: string): Buffer {
  return Buffer.from(base64Key, 'base64');
}

export function encryptSecret(secret: string, base64Key: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key(base64Key), iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function decryptSecret(stored: string, base64Key: string): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('unreadable stored webhook secret');
  const decipher = createDecipheriv('aes-256-gcm', key(base64Key), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

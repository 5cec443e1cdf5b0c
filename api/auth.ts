import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { jwtVerify } from 'jose';
import { BillingError } from '../platform/errors';

/**
 * Credential scheme (README.md, "Credentials"):
 * - service: `Authorization: Bearer <service key>` (SERVICE_API_KEYS), for business services.
 * - admin:   `Authorization: Bearer <admin key>` (ADMIN_API_KEYS), for operators.
 * - user:    `Authorization: Bearer <JWT>` signed HS256 with USER_TOKEN_SECRET by the calling service (with `exp`),
 *            `sub` = the user id; it grants access to that user's own data only.
 */
export type Role = 'service' | 'admin' | 'user';

export interface Principal {
  role: Role;
  /** Stable, non-secret id of the credential, used for idempotency scope and audit (`actor`). */
  id: string;
  /** For users: the only user id they may see. */
  userId?: string;
}

export interface AuthConfig {
  serviceKeys: string[];
  adminKeys: string[];
  userTokenSecret: string;
}

/** A short fingerprint names a key in logs and the ledger without revealing it. */
function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** The index of the key whose digest matches the candidate's, or -1. */
function matchingKey(digest: Buffer, keys: Buffer[]): number {
  // Compare fixed-length digests in constant time, and every one of them, so key length and content
  // (and which key matched) do not leak through timing.
  let found = -1;
  for (let index = 0; index < keys.length; index++) if (timingSafeEqual(digest, keys[index]!) && found < 0) found = index;
  return found;
}

export class Authenticator {
  private readonly serviceDigests: Buffer[];
  private readonly adminDigests: Buffer[];
  /** The principals of the keys, in the order of their digests (ids computed once, not per request). */
  private readonly servicePrincipals: Principal[];
  private readonly adminPrincipals: Principal[];
  private readonly secret: Uint8Array;

  constructor(config: AuthConfig) {
    const digest = (key: string) => createHash('sha256').update(key).digest();
    this.serviceDigests = config.serviceKeys.map(digest);
    this.adminDigests = config.adminKeys.map(digest);
    this.servicePrincipals = config.serviceKeys.map((key) => ({ role: 'service', id: `service:${fingerprint(key)}` }));
    this.adminPrincipals = config.adminKeys.map((key) => ({ role: 'admin', id: `admin:${fingerprint(key)}` }));
    this.secret = new TextEncoder().encode(config.userTokenSecret);
  }

  /** Resolves the caller from an Authorization header; undefined when there is none. */
  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    if (header === undefined || header === '') return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new BillingError('UNAUTHENTICATED', 'Authorization must be "Bearer <credential>".');
    const credential = match[1]!;
    const digest = createHash('sha256').update(credential).digest();
    const service = matchingKey(digest, this.serviceDigests);
    if (service >= 0) return { ...this.servicePrincipals[service]! };
    const admin = matchingKey(digest, this.adminDigests);
    if (admin >= 0) return { ...this.adminPrincipals[admin]! };
    if (credential.split('.').length === 3) {
      try {
        // exp is required: a user token that never expires cannot be revoked short of rotating the secret.
        const { payload } = await jwtVerify(credential, this.secret, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
        if (typeof payload.sub === 'string' && payload.sub.length > 0 && payload.sub.length <= 128) {
          return { role: 'user', id: `user:${payload.sub}`, userId: payload.sub };
        }
      } catch {
        // fall through: an invalid or expired token is simply not a credential
      }
    }
    throw new BillingError('UNAUTHENTICATED', 'The credential is not valid.');
  }
}

const PRINCIPAL = Symbol('principal');

/**
 * The caller of a request, authenticated once per request: the rate limiter (api/edge.ts) and the
 * route (api/route.ts) both need it, and each authentication hashes the credential. The promise is
 * kept on the request, a refusal included (the rate limiter ignores it, the route answers it).
 */
export function requestPrincipal(authenticator: Authenticator, req: IncomingMessage): Promise<Principal | undefined> {
  const memo = req as IncomingMessage & { [PRINCIPAL]?: { authenticator: Authenticator; principal: Promise<Principal | undefined> } };
  const known = memo[PRINCIPAL];
  if (known?.authenticator === authenticator) return known.principal;
  const principal = authenticator.authenticate(req.headers.authorization);
  memo[PRINCIPAL] = { authenticator, principal };
  return principal;
}

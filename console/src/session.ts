/**
 * The credential a page calls the API with, held in this tab's memory only: never in localStorage,
 * sessionStorage or a cookie, so it is gone when the tab closes or reloads and no other page or
 * script run later can read it back. The API has no session exchange; the key itself is the session.
 */
export interface Session {
  get(): string | undefined;
  set(credential: string | undefined, reason?: string): void;
  /** Why the last session ended (e.g. the API answered 401), shown on the sign-in form. */
  endedBecause(): string | undefined;
  subscribe(listener: () => void): () => void;
}

export function createSession(): Session {
  let credential: string | undefined;
  let ended: string | undefined;
  const listeners = new Set<() => void>();
  return {
    get: () => credential,
    set(value, reason) {
      credential = value;
      ended = value === undefined ? reason : undefined;
      for (const listener of listeners) listener();
    },
    endedBecause: () => ended,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The operator's admin key. */
export const adminSession = createSession();
/** The user's token (a JWT the business service minted for its user). */
export const userSession = createSession();

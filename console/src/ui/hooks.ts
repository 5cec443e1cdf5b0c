import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, asApiError, newIdempotencyKey } from '../api/client';
import type { Session } from '../session';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload(): void;
}

/** Loads on mount and whenever `deps` change; a late answer of an older load is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const ticket = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => ticket === latest.current && setState({ data, loading: false }),
      (error: unknown) => ticket === latest.current && setState({ error: asApiError(error), loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Action<A extends unknown[], T> {
  /** The Idempotency-Key of the change this form is about to make. */
  key: string;
  run(...args: A): Promise<T | undefined>;
  pending: boolean;
  error: ApiError | undefined;
  result: T | undefined;
}

/**
 * One intended change: its Idempotency-Key is made when the form opens (this hook mounts) and sent
 * again by every retry, so a retry after a timeout or a 503 cannot apply the change twice. The API
 * stores nothing for a refused request, so a corrected retry under the same key is judged afresh.
 * Only a success moves on to a new key, for the next change the same form makes.
 */
export function useAction<A extends unknown[], T>(perform: (key: string, ...args: A) => Promise<T>, onDone?: (result: T) => void): Action<A, T> {
  const [key, setKey] = useState(newIdempotencyKey);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [result, setResult] = useState<T>();
  const run = async (...args: A): Promise<T | undefined> => {
    setPending(true);
    setError(undefined);
    try {
      const answer = await perform(key, ...args);
      setResult(answer);
      setKey(newIdempotencyKey());
      onDone?.(answer);
      return answer;
    } catch (caught) {
      setError(asApiError(caught));
      return undefined;
    } finally {
      setPending(false);
    }
  };
  return { key, run, pending, error, result };
}

/** Re-renders when the session's credential changes. */
export function useSession(session: Session): string | undefined {
  const [credential, setCredential] = useState(session.get());
  useEffect(() => session.subscribe(() => setCredential(session.get())), [session]);
  return credential;
}

/** Sets the document title, so each page is named in the history and by screen readers. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · durable-billing console`;
  }, [title]);
}

import type { ComponentChildren, ComponentType } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ok, asApiError, type ApiError } from '../api/client';
import { adminApi } from '../api/instances';
import { adminSession } from '../session';
import { Field, Form, Refusal, valueOf } from '../ui/components';
import { useSession, useTitle } from '../ui/hooks';

const NAV: ReadonlyArray<{ href: string; label: string }> = [
  { href: '/console/prices', label: 'Action prices' },
  { href: '/console/packages', label: 'Packages' },
  { href: '/console/users', label: 'Users' },
  { href: '/console/orders', label: 'Orders' },
  { href: '/console/consumption', label: 'Consumption' },
  { href: '/console/webhooks', label: 'Webhooks' },
  { href: '/console/reconciliation', label: 'Reconciliation' },
  { href: '/console/schedules', label: 'Schedules' },
];

/**
 * An operator page behind the sign-in form: the page itself (and its module) is not loaded until an
 * admin key is given, so its first reads are made with the key, and it loads afresh after a new sign-in.
 */
export function requireAdmin<P extends object>(Page: ComponentType<P>): ComponentType<P> {
  return function AdminOnly(props: P) {
    const credential = useSession(adminSession);
    if (!credential) return <SignIn />;
    return <Page {...props} />;
  };
}

/** The frame of every operator page: the navigation, the page's title and its content. */
export function OperatorShell({ title, children }: { title: string; children: ComponentChildren }) {
  const { path } = useLocation();
  useTitle(title);
  const current = path === '/console' ? '/console/prices' : path;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">durable-billing · operator</span>
        <nav aria-label="Operator pages">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={current === item.href || current.startsWith(item.href + '/') ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="link-button" onClick={() => adminSession.set(undefined, 'Signed out.')}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}

function SignIn() {
  useTitle('Sign in');
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError>();
  const [checking, setChecking] = useState(false);
  const ended = adminSession.endedBecause();
  const signIn = async () => {
    setChecking(true);
    setError(undefined);
    try {
      // Checked with a read before it is kept: a wrong key is refused here, with the API's message.
      await ok(adminApi.GET('/v1/admin/action-prices', { headers: { Authorization: `Bearer ${key.trim()}` } }));
      adminSession.set(key.trim());
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setChecking(false);
    }
  };
  return (
    <main class="narrow" id="main">
      <h1>Operator console</h1>
      <p>
        Sign in with an admin key (<code>ADMIN_API_KEYS</code>). The key stays in this tab's memory only: reloading or closing the tab signs
        you out.
      </p>
      {ended ? <p class="notice" role="status">{ended}</p> : null}
      <Form label="Sign in" onSubmit={signIn}>
        <Field label="Admin key">
          <input type="password" autoComplete="off" spellcheck={false} required value={key} onInput={(event) => setKey(valueOf(event))} />
        </Field>
        <div class="actions">
          <button class="primary" type="submit" disabled={checking || key.trim() === ''}>
            {checking ? 'Checking…' : 'Sign in'}
          </button>
        </div>
      </Form>
      <Refusal error={error} />
      <p class="muted">
        A user's own page is <a href="/console/me">/console/me</a>.
      </p>
    </main>
  );
}

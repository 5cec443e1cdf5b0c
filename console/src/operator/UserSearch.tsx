import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { Field, Form, Section, valueOf } from '../ui/components';
import { OperatorShell } from './Shell';

export default function UserSearchPage() {
  const [userId, setUserId] = useState('');
  const { route } = useLocation();
  return (
    <OperatorShell title="Users">
      <Section title="Find a user">
        <p class="muted">User ids are the business service's own (e.g. user-42): the console opens that user's balance, grants, reservations, orders and subscriptions.</p>
        <Form label="Find a user" onSubmit={() => route(`/console/users/${encodeURIComponent(userId.trim())}`)}>
          <Field label="User id">
            <input required pattern="[A-Za-z0-9._:@\-]+" maxLength={128} spellcheck={false} value={userId} onInput={(event) => setUserId(valueOf(event))} />
          </Field>
          <div class="actions">
            <button class="primary" type="submit">
              Open user
            </button>
          </div>
        </Form>
      </Section>
    </OperatorShell>
  );
}

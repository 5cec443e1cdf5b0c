import { cloneElement, type ComponentChildren, type TargetedSubmitEvent, type VNode } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../api/client';

/**
 * A labelled control: the label names it (for/id) and the hint describes it (aria-describedby), so a
 * screen reader reads "Credits per unit" as the name and the hint after it, not one run-on label.
 */
export function Field({ label, hint, children }: { label: string; hint?: ComponentChildren; children: VNode }) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div class="field">
      <label class="field-label" for={id}>
        {label}
      </label>
      {cloneElement(children, { id, ...(hint ? { 'aria-describedby': hintId } : {}) })}
      {hint ? (
        <span class="field-hint" id={hintId}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

/** The API's refusal, as it said it: the stable code, its message, and what the details name. */
export function Refusal({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  const issues = Array.isArray(error.details.issues) ? (error.details.issues as { path?: string; message?: string }[]) : [];
  const otherDetails = Object.entries(error.details).filter(([name]) => name !== 'issues');
  return (
    <div class="refusal" role="alert">
      <p>
        <strong>{error.code}</strong>
        {error.status ? ` (${error.status})` : ''}: {error.message}
      </p>
      {issues.length > 0 ? (
        <ul>
          {issues.map((issue) => (
            <li key={`${issue.path}:${issue.message}`}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
      {otherDetails.length > 0 ? (
        <p class="muted">
          {otherDetails.map(([name, value]) => (
            <span key={name} class="detail">
              {name}: <code>{typeof value === 'string' ? value : JSON.stringify(value)}</code>
            </span>
          ))}
        </p>
      ) : null}
      {error.requestId ? <p class="muted">Request id {error.requestId}</p> : null}
    </div>
  );
}

/** A polite announcement of what just happened (read out by screen readers without moving focus). */
export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Section({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const id = useId();
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions ? <div class="card-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status.replace(/_/g, ' ')}</span>;
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Table({ caption, children }: { caption: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <caption class="visually-hidden">{caption}</caption>
        {children}
      </table>
    </div>
  );
}

/**
 * A modal confirmation on the native <dialog>: focus moves into it and back, Escape cancels, the page
 * behind is inert. The refusal of the confirmed call is shown inside it.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  pending?: boolean;
  error?: ApiError;
  danger?: boolean;
  onConfirm(): void;
  onCancel(): void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  const cancel = (event: Event) => {
    event.preventDefault();
    props.onCancel();
  };
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={cancel}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
      <Refusal error={props.error} />
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={props.pending} onClick={props.onConfirm}>
          {props.pending ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A form that submits without reloading the page. */
export function Form({ onSubmit, children, label, class: className }: { onSubmit(): void; children: ComponentChildren; label: string; class?: string }) {
  const submit = (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form class={className ?? 'form'} aria-label={label} onSubmit={submit}>
      {children}
    </form>
  );
}

/** The value of an input event's target, typed. */
export function valueOf(event: Event): string {
  return (event.currentTarget as HTMLInputElement).value;
}

export function checkedOf(event: Event): boolean {
  return (event.currentTarget as HTMLInputElement).checked;
}

/** Cursor paging: the cursors of the pages before this one are kept, so "Previous" goes back. */
export function Pager({ hasPrevious, next, onPrevious, onNext }: { hasPrevious: boolean; next: string | null; onPrevious(): void; onNext(cursor: string): void }) {
  return (
    <div class="actions pager">
      <button type="button" disabled={!hasPrevious} onClick={onPrevious}>
        Previous page
      </button>
      <button type="button" disabled={!next} onClick={() => next && onNext(next)}>
        Next page
      </button>
    </div>
  );
}

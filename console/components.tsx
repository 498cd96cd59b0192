import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'done'; value: T };

const asApiError = (error: unknown): ApiError => (error instanceof ApiError ? error : new ApiError(0, 'Error', String(error)));

/** Data a page reads when it opens and again on `reload()`. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoaded({ state: 'loading' });
    load().then(
      (value) => {
        if (current) setLoaded({ state: 'done', value });
      },
      (error: unknown) => {
        if (current) setLoaded({ state: 'error', error: asApiError(error) });
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return [
    loaded,
    useCallback(() => {
      setRound((r) => r + 1);
    }, []),
  ];
}

/** An action a button starts: whether it runs, and the error it ended with. */
export function useAction(): { busy: boolean; error: ApiError | undefined; run: (action: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(asApiError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return {
    busy,
    error,
    run,
    clear: () => {
      setError(undefined);
    },
  };
}

/** An action that changes what the page shows: `act(work)` runs it as useAction does, and calls `onDone` when it succeeded. */
export function useChange(onDone: () => void): ReturnType<typeof useAction> & { act: (work: () => Promise<unknown>) => void } {
  const action = useAction();
  return {
    ...action,
    act: (work) => {
      void action.run(work).then((done) => {
        if (done) onDone();
      });
    },
  };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** An error as the API told it: its code names the cause (AccessDeniedException, KMSInvalidStateException, …). */
export function ErrorMessage({ error, retry }: { error: ApiError; retry?: () => void }) {
  return (
    <div class="error" role="alert">
      <strong>{error.code}</strong>: {error.message}
      {retry && (
        <button type="button" class="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Show<T>({ loaded, what, retry, children }: { loaded: Loaded<T>; what: string; retry?: () => void; children: (value: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'error') return <ErrorMessage error={loaded.error} {...(retry ? { retry } : {})} />;
  return <>{children(loaded.value)}</>;
}

export function Section({ title, id, children, actions }: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel" aria-labelledby={id}>
      <div class="panel-head">
        <h2 id={id}>{title}</h2>
        {actions && <div class="actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** Label and value pairs, as AWS's console shows a key's general configuration. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

export const formatDate = (seconds: number | undefined): string => (seconds === undefined ? '—' : new Date(seconds * 1000).toLocaleString());

export function StateBadge({ state }: { state: string | undefined }) {
  return <span class={`badge state-${(state ?? 'unknown').toLowerCase()}`}>{state ?? 'Unknown'}</span>;
}

/** The Actions menu of a resource, as IBM's console opens it: a button that shows the actions it offers. */
export function ActionsMenu({ label, items }: { label: string; items: { name: string; run: () => void }[] }) {
  const [open, setOpen] = useState(false);
  return (
    <div class="menu">
      <button
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-label={label}
        onClick={() => {
          setOpen(!open);
        }}
      >
        Actions ▾
      </button>
      {open && (
        <ul class="menu-items">
          {items.map((item) => (
            <li key={item.name}>
              <button
                type="button"
                class="link"
                onClick={() => {
                  setOpen(false);
                  item.run();
                }}
              >
                {item.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Table({ caption, head, rows }: { caption: string; head: string[]; rows: ComponentChildren[][] }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((cells, i) => (
            <tr key={i}>
              {cells.map((cell, j) => (
                <td key={j}>{cell ?? '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A labelled choice among `options` (each its value, or [value, text]). */
export function Select({
  id,
  label,
  value,
  options,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  options: readonly (string | readonly [string, string])[];
  onChange: (value: string) => void;
}) {
  return (
    <>
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(event) => {
          onChange(event.currentTarget.value);
        }}
      >
        {options.map((option) => {
          const [optionValue, text] = typeof option === 'string' ? [option, option] : option;
          return (
            <option key={optionValue} value={optionValue}>
              {text}
            </option>
          );
        })}
      </select>
    </>
  );
}

/** A labelled text field, required unless said otherwise; a secret one is a password field the browser's password manager may fill. */
export function TextInput({
  id,
  label,
  value,
  onInput,
  secret = false,
  required = true,
  autoComplete,
  placeholder,
}: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  secret?: boolean;
  required?: boolean;
  autoComplete?: string;
  placeholder?: string;
}) {
  return (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        type={secret ? 'password' : 'text'}
        required={required}
        value={value}
        {...(autoComplete !== undefined ? { autoComplete } : {})}
        {...(placeholder !== undefined ? { placeholder } : {})}
        onInput={(event) => {
          onInput(event.currentTarget.value);
        }}
      />
    </>
  );
}

/**
 * The confirmation step of a seed's flow (Synchronize, Sync key): what the action will do, then
 * the action and Cancel, as one labelled group.
 */
export function ConfirmPanel({
  id,
  title,
  children,
  label,
  busy,
  onConfirm,
  onCancel,
}: {
  id: string;
  title: ComponentChildren;
  children?: ComponentChildren;
  label: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <div class="confirm" role="group" aria-labelledby={id}>
      <p id={id}>{title}</p>
      {children}
      <button type="button" class="primary" disabled={busy} onClick={onConfirm}>
        {label}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

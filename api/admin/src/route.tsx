// A small router over the History API under /admin (the api answers every
// /admin/... path that is not a file with index.html).
import { useSyncExternalStore, type ReactNode } from 'react';

const BASE = '/admin';
const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((listener) => listener()));

export function navigate(path: string) {
  window.history.pushState(null, '', BASE + path);
  listeners.forEach((listener) => listener());
}

/** The path inside the admin (`/sites/<id>/pages`), query excluded. */
export function useRoute(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => window.location.pathname.slice(BASE.length) || '/',
  );
}

/** An in-app link: a real `href` (open in a new tab works), routed here on a
 * plain click. */
export function Link({ to, className, children }: { to: string; className?: string; children: ReactNode }) {
  return (
    <a
      className={className}
      href={BASE + to}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

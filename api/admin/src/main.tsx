import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { session } from './session';
import './styles.css';

const root = document.getElementById('root');
// A reload resumes the session from the refresh cookie before the first
// screen, so a signed-in editor does not see the sign-in form flash.
if (root) {
  void (session.resumable() ? session.refresh() : Promise.resolve(false)).finally(() =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  );
}

// The web UI's entry point: asks the server who we are (and for a token
// when it needs one), then routes /ui/ to the job list and /ui/jobs/ID to a
// job's page. Links stay real URLs, so a job's page can be bookmarked and
// shared.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, AuthError, setToken, token } from './api.js';
import { h } from './format.js';
import { JobListPage, JobPage } from './pages.js';

const app = document.getElementById('app');
const crumbs = document.getElementById('crumbs');
const who = document.getElementById('who');
let page = null;
let role = null;

function show(next) {
  if (page) page.destroy();
  page = next;
}

function loginForm(message) {
  show(null);
  crumbs.replaceChildren();
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', placeholder: 'bearer token', required: true });
  const form = h('form', { class: 'card login', id: 'login' },
    h('h2', {}, 'Sign in'),
    h('p', {}, 'This server needs a token (a line of its token file). A read token shows the jobs; an admin token can also stop, cancel, resume and savepoint them.'),
    message ? h('p', { class: 'error' }, message) : null,
    h('label', { for: 'token' }, 'Token'), input,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    route();
  });
  app.replaceChildren(form);
  input.focus();
}

function onAuthError(error) {
  role = null;
  loginForm(token() ? 'The server refused this token: ' + error.message : null);
}

function showWho(me) {
  const parts = [h('span', { class: 'role', id: 'role' }, me.role)];
  if (me.tokens_required) {
    parts.push(h('button', { type: 'button', class: 'link', onclick: () => { setToken(''); role = null; route(); } }, 'sign out'));
  }
  who.replaceChildren(...parts);
}

async function route() {
  if (role === null) {
    try {
      const me = await api('/whoami');
      role = me.role;
      showWho(me);
    } catch (e) {
      if (e instanceof AuthError) {
        who.replaceChildren();
        onAuthError(e);
        return;
      }
      app.replaceChildren(h('p', { class: 'error' }, 'Cannot reach the server: ' + e.message));
      return;
    }
  }
  const match = location.pathname.match(/^\/ui\/jobs\/([^/]+)\/?$/);
  if (match) {
    const id = decodeURIComponent(match[1]);
    document.title = id + ' · Eddy';
    crumbs.replaceChildren(h('a', { href: '/ui/', 'data-link': true }, 'Jobs'), ' / ', h('span', {}, id));
    show(null);
    show(new JobPage(app, id, role, onAuthError));
  } else {
    document.title = 'Jobs · Eddy';
    crumbs.replaceChildren(h('span', {}, 'Jobs'));
    show(null);
    show(new JobListPage(app, onAuthError));
  }
}

// In-page navigation for links marked data-link; the rest load normally.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (link.getAttribute('href') !== location.pathname) history.pushState(null, '', link.getAttribute('href'));
  route();
});
window.addEventListener('popstate', route);
route();

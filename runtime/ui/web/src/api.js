// The REST API (docs/openapi.yaml), the pages' only way to the engine. The
// bearer token, when the server asks for one, is kept in this browser's
// local storage.

const TOKEN_KEY = 'eddy-token';

export class AuthError extends Error {}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  const held = token();
  if (held) headers.Authorization = 'Bearer ' + held;
  const init = { method, headers, cache: 'no-store' };
  if (method !== 'GET') {
    init.body = body === undefined ? '' : JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch('/api/v1' + path, init);
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (res.status === 401) throw new AuthError((data && data.error) || 'a token is needed');
  if (!res.ok) {
    const error = new Error((data && data.error) || 'HTTP ' + res.status);
    error.status = res.status;
    throw error;
  }
  return data;
}

export const jobPath = (id) => '/jobs/' + encodeURIComponent(id);
